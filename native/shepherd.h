// What the PMDA (native/exec.cc) and the shepherd (native/shepherd.cc)
// share: the limits of a command, and the shepherd's report.
#pragma once

namespace pmdajson {

struct Limits {
  long long as = -1, nofile = -1, nproc = -1, cpu = -1, fsize = -1;
};

// What the shepherd reports on its status pipe when it is done.
struct Report {
  int spawnErrno;  // the command could not be started (chdir, credentials, exec)
  int status;      // the command's wait status
  int timedOut;    // killed at the deadline
};

}  // namespace pmdajson
