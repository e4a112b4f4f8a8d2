// The system's PCP files that the benchmark (bench/run.mjs) and the soak
// (bench/soak.mjs) edit or read, and the PATH pmcd and its tools run with.
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
export const PMCD_CONF = '/etc/pcp/pmcd/pmcd.conf';
export const PMNS_ROOT = '/var/lib/pcp/pmns/root';
/** pmdaCache's files: DOMAIN.SERIAL. */
export const CACHE_DIR = '/var/lib/pcp/config/pmda';
