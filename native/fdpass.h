// Messages with descriptors on a unix socket (SCM_RIGHTS): how the PMDA
// (native/exec.cc) and the command server (native/shepherd.cc) talk.
#pragma once
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

namespace pmdajson {

constexpr int kMaxPassed = 2;

// One message's header: its bytes, and room for kMaxPassed descriptors.
struct Envelope {
  struct iovec iov;
  alignas(struct cmsghdr) char room[CMSG_SPACE(kMaxPassed * sizeof(int))];
  struct msghdr msg;
  Envelope(void *data, size_t len) : iov{data, len} {
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = room;
    msg.msg_controllen = sizeof(room);
  }
};

/** Send `len` bytes and `nfds` descriptors (at most kMaxPassed) as one message: sendmsg's result. */
inline ssize_t sendWithFds(int sock, const void *data, size_t len, const int *fds, int nfds) {
  Envelope e(const_cast<void *>(data), len);
  if (nfds <= 0) {
    e.msg.msg_control = nullptr;
    e.msg.msg_controllen = 0;
  } else {
    e.msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&e.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  return sendmsg(sock, &e.msg, MSG_NOSIGNAL);
}

/**
 * Receive one message into `buf` and up to kMaxPassed descriptors
 * (close-on-exec; any beyond those are closed): recvmsg's result, with
 * `*nfds` set, and `*cut` if the message or its descriptors did not fit.
 */
inline ssize_t recvWithFds(int sock, void *buf, size_t len, int *fds, int *nfds, bool *cut) {
  Envelope e(buf, len);
  *nfds = 0;
  ssize_t n = recvmsg(sock, &e.msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&e.msg); c != nullptr; c = CMSG_NXTHDR(&e.msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*nfds < kMaxPassed) fds[(*nfds)++] = fd;
      else close(fd);
    }
  }
  *cut = (e.msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  return n;
}

}  // namespace pmdajson
