// Issue 23, served: arrays inside arrays (lsblk's partitions, iostat's
// disks per host), trees (lsblk's and findmnt's "children"), a document
// that is an array itself, and values mapped to numbers ("map",
// "numeric-strings"), through the real PMDA under dbpmda.
import test from 'ava';
import { Scratch, Dbpmda, session, metricValues, parseDesc, parseInstances, parseTraverse } from '../helpers/harness.mjs';

// lsblk -J -b -o NAME,SIZE,TYPE,ROTA,FSTYPE (util-linux 2.38), abridged
const LSBLK = {
  blockdevices: [
    { name: 'loop0', size: 58363904, type: 'loop', rota: false, fstype: 'squashfs' },
    { name: 'sda', size: 256060514304, type: 'disk', rota: true, fstype: null, children: [
      { name: 'sda1', size: 1073741824, type: 'part', rota: true, fstype: 'vfat' },
      { name: 'sda2', size: 254985158656, type: 'part', rota: true, fstype: 'LVM2_member', children: [
        { name: 'vg0-root', size: 107374182400, type: 'lvm', rota: true, fstype: 'ext4' },
        { name: 'vg0-home', size: 147610976256, type: 'lvm', rota: true, fstype: 'ext4' },
      ] },
    ] },
    { name: 'nvme0n1', size: 512110190592, type: 'disk', rota: false, fstype: null, children: [
      { name: 'nvme0n1p1', size: 512109142016, type: 'part', rota: false, fstype: 'ext4' },
    ] },
  ],
};

const SIZE = { name: 'size', type: 'integer', pointer: '/size', units: 'byte' };

/** Disks, their partitions and the volumes in those, as arrays inside arrays; lsblk's rota, mapped, as ssd. */
const LSBLK_NESTED = {
  metrics: [
    { name: 'dev', type: 'array', pointer: '/blockdevices', index: '/name', description: 'block devices', metrics: [
      SIZE,
      { name: 'ssd', type: 'integer', pointer: '/rota', semantics: 'discrete', map: { true: 0, false: 1 } },
      { name: 'part', type: 'array', pointer: '/children', index: '/name', metrics: [
        SIZE,
        { name: 'fstype', type: 'string', pointer: '/fstype' },
        { name: 'lv', type: 'array', pointer: '/children', index: '/name', metrics: [SIZE] },
      ] },
    ] },
  ],
};

/** The same devices as one tree: every device at every depth. */
const LSBLK_TREE = {
  metrics: [
    { name: 'blk', type: 'array', pointer: '/blockdevices', index: '/name', children: '/children', metrics: [SIZE, { name: 'type', type: 'string', pointer: '/type' }] },
  ],
};

/** name -> instance id of the instance domain of `metric`. */
async function ids(d, metric) {
  const { indom } = parseDesc(await d.run(`desc ${metric}`));
  return Object.fromEntries(parseInstances(await d.run(`instance ${indom}`)).map(([i, n]) => [n, i]));
}

test('lsblk: partitions and volumes, arrays inside arrays, served as dev.part.* for instances sda/sda1', async (t) => {
  const s = new Scratch();
  s.source('lsblk', LSBLK_NESTED, LSBLK);
  const d = await session(t, s);
  t.deepEqual(parseTraverse(await d.run('traverse json.lsblk')), ['json.lsblk.dev.part.fstype', 'json.lsblk.dev.part.lv.size', 'json.lsblk.dev.part.size', 'json.lsblk.dev.size', 'json.lsblk.dev.ssd']);
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.size'), { loop0: '58363904', sda: '256060514304', nvme0n1: '512110190592' });
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.ssd'), { loop0: '1', sda: '0', nvme0n1: '1' }, 'JSON booleans through the map');
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.part.size'), { 'sda/sda1': '1073741824', 'sda/sda2': '254985158656', 'nvme0n1/nvme0n1p1': '512109142016' });
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.part.fstype'), { 'sda/sda1': '"vfat"', 'sda/sda2': '"LVM2_member"', 'nvme0n1/nvme0n1p1': '"ext4"' });
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.part.lv.size'), { 'sda/sda2/vg0-root': '107374182400', 'sda/sda2/vg0-home': '147610976256' });
  // one instance domain for the source, as for any source's arrays
  const dev = parseDesc(await d.run('desc json.lsblk.dev.size'));
  const part = parseDesc(await d.run('desc json.lsblk.dev.part.lv.size'));
  t.is(part.indom, dev.indom);
  t.is(part.units, 'byte');
  t.deepEqual(Object.keys(await ids(d, 'json.lsblk.dev.size')).sort(), ['loop0', 'nvme0n1', 'nvme0n1/nvme0n1p1', 'sda', 'sda/sda1', 'sda/sda2', 'sda/sda2/vg0-home', 'sda/sda2/vg0-root']);
  t.notRegex(s.logText(), /Warning/, 'a device without "children" is no problem');
});

test('lsblk as a tree: every device at every depth, named by its path', async (t) => {
  const s = new Scratch();
  s.source('blk', LSBLK_TREE, LSBLK);
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.blk.blk.type'), {
    loop0: '"loop"', sda: '"disk"', 'sda/sda1': '"part"', 'sda/sda2': '"part"', 'sda/sda2/vg0-root': '"lvm"', 'sda/sda2/vg0-home': '"lvm"', nvme0n1: '"disk"', 'nvme0n1/nvme0n1p1': '"part"',
  });
  t.is((await metricValues(d, 'json.blk.blk.size'))['sda/sda2/vg0-home'], '147610976256');
  t.notRegex(s.logText(), /Warning/);
});

test('instance ids stay the same when the document reorders its elements, and after a restart', async (t) => {
  const s = new Scratch();
  s.source('lsblk', LSBLK_NESTED, LSBLK);
  s.source('blk', LSBLK_TREE, LSBLK);
  const d = await session(t, s);
  await d.fetch('json.lsblk.dev.part.lv.size', 'json.blk.blk.size');
  const nested = await ids(d, 'json.lsblk.dev.size');
  const tree = await ids(d, 'json.blk.blk.size');
  t.is(Object.keys(nested).length, 8);
  t.is(Object.keys(tree).length, 8);
  // disks, partitions and volumes in reverse order, and a new disk first
  const reversed = structuredClone(LSBLK);
  const reverse = (list) => list.reverse().map((e) => (e.children ? { ...e, children: reverse(e.children) } : e));
  reversed.blockdevices = [{ name: 'sdb', size: 1, type: 'disk', rota: true, children: [{ name: 'sdb1', size: 1, type: 'part', rota: true }] }, ...reverse(reversed.blockdevices)];
  s.data('lsblk', reversed);
  s.data('blk', reversed);
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.part.size'), { 'sdb/sdb1': '1', 'sda/sda1': '1073741824', 'sda/sda2': '254985158656', 'nvme0n1/nvme0n1p1': '512109142016' });
  t.is((await metricValues(d, 'json.blk.blk.size'))['sda/sda2/vg0-home'], '147610976256');
  const nested2 = await ids(d, 'json.lsblk.dev.size');
  const tree2 = await ids(d, 'json.blk.blk.size');
  for (const [name, id] of Object.entries(nested)) t.is(nested2[name], id, `lsblk ${name}`);
  for (const [name, id] of Object.entries(tree)) t.is(tree2[name], id, `blk ${name}`);
  t.is(Object.keys(nested2).length, 10);
  await d.close();
  // a new PMDA, on the same caches
  const again = new Dbpmda(s);
  await again.ready;
  t.teardown(() => again.close());
  t.deepEqual(await metricValues(again, 'json.lsblk.dev.part.lv.size'), { 'sda/sda2/vg0-root': '107374182400', 'sda/sda2/vg0-home': '147610976256' });
  t.deepEqual(await ids(again, 'json.lsblk.dev.size'), nested2);
  await again.fetch('json.blk.blk.size');
  t.deepEqual(await ids(again, 'json.blk.blk.size'), tree2);
});

// findmnt -J -b -o TARGET,SOURCE,FSTYPE,SIZE,USED (util-linux 2.38), abridged
const FINDMNT = {
  filesystems: [
    { target: '/', source: '/dev/mapper/vg0-root', fstype: 'ext4', size: 105089261568, used: 20419219456, children: [
      { target: '/proc', source: 'proc', fstype: 'proc', size: 0, used: 0, children: [
        { target: '/proc/sys/fs/binfmt_misc', source: 'systemd-1', fstype: 'autofs', size: 0, used: 0, children: [
          { target: '/proc/sys/fs/binfmt_misc', source: 'binfmt_misc', fstype: 'binfmt_misc', size: 0, used: 0 },
        ] },
      ] },
      { target: '/boot/efi', source: '/dev/sda1', fstype: 'vfat', size: 1071624192, used: 6451200 },
      { target: '/home', source: '/dev/mapper/vg0-home', fstype: 'ext4', size: 144873717760, used: 52338589696 },
    ] },
  ],
};

test('findmnt: a tree whose targets are full paths, named by them alone ("instance-names": "leaf"); a duplicate: the last served, one line', async (t) => {
  const s = new Scratch();
  s.source('mounts', {
    metrics: [{ name: 'fs', type: 'array', pointer: '/filesystems', index: '/target', children: '/children', 'instance-names': 'leaf', metrics: [
      { name: 'used', type: 'integer', pointer: '/used', units: 'byte' },
      { name: 'fstype', type: 'string', pointer: '/fstype' },
    ] }],
  }, FINDMNT);
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    t.deepEqual(await metricValues(d, 'json.mounts.fs.fstype'), { '/': '"ext4"', '/proc': '"proc"', '/proc/sys/fs/binfmt_misc': '"binfmt_misc"', '/boot/efi': '"vfat"', '/home': '"ext4"' });
  }
  t.is((await metricValues(d, 'json.mounts.fs.used'))['/home'], '52338589696');
  const lines = s.logText().split('\n').filter((l) => l.includes('Warning'));
  t.is(lines.length, 1);
  t.true(lines[0].includes(`${s.src}/mounts/data.json: array 'fs': duplicate instance name "/proc/sys/fs/binfmt_misc"; the last one is served`), lines[0]);
});

// iostat -x -o JSON (sysstat 12.6), abridged
const IOSTAT = {
  sysstat: {
    hosts: [{
      nodename: 'db1', sysname: 'Linux', release: '6.1.0-18-amd64', machine: 'x86_64', 'number-of-cpus': 2, date: '03/04/2024',
      statistics: [{
        'avg-cpu': { user: 2.05, nice: 0.0, system: 1.12, iowait: 0.35, steal: 0.0, idle: 96.48 },
        disk: [
          { disk_device: 'sda', 'r/s': 1.52, 'w/s': 3.84, 'rkB/s': 60.21, 'wkB/s': 95.47, util: 0.39 },
          { disk_device: 'nvme0n1', 'r/s': 10.5, 'w/s': 22.25, 'rkB/s': 812.4, 'wkB/s': 1024.5, util: 2.5 },
        ],
      }],
    }],
  },
};

test('iostat: the disks of each host, an array inside an array at a deeper pointer, named db1/sda', async (t) => {
  const s = new Scratch();
  s.source('iostat', {
    metrics: [{ name: 'host', type: 'array', pointer: '/sysstat/hosts', index: '/nodename', metrics: [
      { name: 'ncpu', type: 'integer', pointer: '/number-of-cpus' },
      { name: 'idle', type: 'double', pointer: '/statistics/0/avg-cpu/idle' },
      { name: 'disk', type: 'array', pointer: '/statistics/0/disk', index: '/disk_device', metrics: [
        { name: 'reads', type: 'double', pointer: '/r~1s', units: 'count / sec' },
        { name: 'util', type: 'double', pointer: '/util' },
      ] },
    ] }],
  }, IOSTAT);
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.iostat.host.ncpu'), { db1: '2' });
  t.deepEqual(await metricValues(d, 'json.iostat.host.idle'), { db1: '96.48' });
  t.deepEqual(await metricValues(d, 'json.iostat.host.disk.reads'), { 'db1/sda': '1.52', 'db1/nvme0n1': '10.5' });
  t.deepEqual(await metricValues(d, 'json.iostat.host.disk.util'), { 'db1/sda': '0.39', 'db1/nvme0n1': '2.5' });
  t.notRegex(s.logText(), /Warning/);
});

// ip -j -s link (iproute2 6.1), abridged: the document is an array (lo's
// rx bytes made the int64 maximum, written into the text as digits)
const IP_LINK = [
  { ifindex: 1, ifname: 'lo', mtu: 65536, operstate: 'UNKNOWN', stats64: { rx: { bytes: 'INT64_MAX', packets: 431 }, tx: { bytes: 51817, packets: 431 } } },
  { ifindex: 2, ifname: 'eth0', mtu: 1500, operstate: 'UP', stats64: { rx: { bytes: 926817361, packets: 702811 }, tx: { bytes: 27634411, packets: 181264 } } },
  { ifindex: 3, ifname: 'wlan0', mtu: 1500, operstate: 'DOWN', stats64: { rx: { bytes: 0, packets: 0 }, tx: { bytes: 0, packets: 0 } } },
];

test('ip -j link: a document that is itself an array (pointer ""), its operstate mapped to numbers', async (t) => {
  const s = new Scratch();
  s.source('ip', {
    metrics: [{ name: 'link', type: 'array', pointer: '', index: '/ifname', metrics: [
      { name: 'rx_bytes', type: 'integer', pointer: '/stats64/rx/bytes', units: 'byte', semantics: 'counter' },
      { name: 'up', type: 'integer', pointer: '/operstate', semantics: 'discrete', map: { UP: 1, DOWN: 0, UNKNOWN: -1 } },
    ] }],
  }, JSON.stringify(IP_LINK).replace('"INT64_MAX"', '9223372036854775807'));
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.ip.link.rx_bytes'), { lo: '9223372036854775807', eth0: '926817361', wlan0: '0' });
  t.deepEqual(await metricValues(d, 'json.ip.link.up'), { lo: '-1', eth0: '1', wlan0: '0' });
  t.notRegex(s.logText(), /Warning/);
});

test('lscpu-like numbers in strings: integers exact over int64, doubles, whitespace around them', async (t) => {
  const s = new Scratch();
  s.source('cpu', {
    metrics: [
      { name: 'cpus', type: 'integer', pointer: '/lscpu/CPU(s)', 'numeric-strings': true },
      { name: 'max_mhz', type: 'double', pointer: '/lscpu/CPU max MHz', 'numeric-strings': true },
      { name: 'bogomips', type: 'double', pointer: '/lscpu/BogoMIPS', 'numeric-strings': true },
      { name: 'cycles', type: 'integer', pointer: '/lscpu/Cycles', 'numeric-strings': true, semantics: 'counter' },
      { name: 'ctxt', type: 'integer', pointer: '/lscpu/Context switches', 'numeric-strings': true, semantics: 'counter' },
      { name: 'model', type: 'string', pointer: '/lscpu/Model name' },
      { name: 'arch', type: 'integer', pointer: '/lscpu/Architecture', 'numeric-strings': true },
      // no numeric-strings: a string is no integer, as always
      { name: 'plain', type: 'integer', pointer: '/lscpu/CPU(s)' },
    ],
  }, { lscpu: { Architecture: 'x86_64', 'CPU(s)': '2', 'Model name': 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'CPU max MHz': '4200.0000', BogoMIPS: ' 4199.88 ', Cycles: '9223372036854775807', 'Context switches': '9007199254740993' } });
  const d = await session(t, s);
  const r = await d.fetch('json.cpu.cpus', 'json.cpu.max_mhz', 'json.cpu.bogomips', 'json.cpu.cycles', 'json.cpu.ctxt', 'json.cpu.model', 'json.cpu.arch', 'json.cpu.plain');
  t.deepEqual(Object.values(r).map((x) => x.values?.[0]?.value ?? x.error), ['2', '4200', '4199.88', '9223372036854775807', '9007199254740993', '"Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz"', 'Missing metric value(s)', 'Missing metric value(s)']);
  await d.fetch('json.cpu.arch', 'json.cpu.plain');
  const lines = s.logText().split('\n').filter((l) => l.includes('Warning'));
  t.deepEqual(lines.map((l) => l.replace(/^.*Warning: /, '')).sort(), [
    `${s.src}/cpu/data.json: metric 'arch' at pointer '/lscpu/Architecture': "x86_64" is not a number`,
    `${s.src}/cpu/data.json: metric 'plain' at pointer '/lscpu/CPU(s)': expected an integer, found a string`,
  ]);
});

const SERVICES = {
  metrics: [
    { name: 'svc', type: 'array', pointer: '/services', index: '/name', metrics: [
      { name: 'state', type: 'integer', pointer: '/state', semantics: 'discrete', map: { up: 1, down: 0 } },
      { name: 'restarts', type: 'integer', pointer: '/restarts' },
    ] },
    { name: 'overall', type: 'integer', pointer: '/overall', map: { up: 1, down: 0 } },
  ],
};

test('service states: an enumeration map; a value not in it gets no value and exactly one log line naming the file and the metric', async (t) => {
  const s = new Scratch();
  const doc = (restarts) => ({ overall: 'up', services: [
    { name: 'web', state: 'up', restarts },
    { name: 'db', state: 'degraded', restarts: 1 },
    { name: 'cache', state: 'down', restarts: 2 },
    { name: 'queue', state: 'starting\n[Mon] forged', restarts: 3 },
  ] });
  s.source('svc', SERVICES, doc(0));
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    s.data('svc', doc(i));
    t.deepEqual(await metricValues(d, 'json.svc.svc.state'), { web: '1', cache: '0' });
    t.deepEqual(await metricValues(d, 'json.svc.svc.restarts'), { web: String(i), db: '1', cache: '2', queue: '3' });
    t.deepEqual(await metricValues(d, 'json.svc.overall'), { null: '1' });
  }
  const lines = s.logText().split('\n').filter((l) => l.includes('Warning'));
  t.deepEqual(lines.map((l) => l.replace(/^.*Warning: /, '')), [`${s.src}/svc/data.json: metric 'svc.state' at pointer '/state': "degraded" is not in its 'map'`]);
  // a single-valued metric answers "no value", with its own line
  s.data('svc', { ...doc(0), overall: true });
  const [r] = Object.values(await d.fetch('json.svc.overall'));
  t.regex(r.error ?? '', /value/i);
  t.regex(s.logText(), /metric 'overall' at pointer '\/overall': true is not in its 'map'/);
});

test('max_instances counts the instances of a nested array over all its levels', async (t) => {
  const s = new Scratch();
  s.config({ directory_list: [s.src], max_instances: 3, log_user_lines: 1000, log_lines: 1000 });
  s.source('lsblk', LSBLK_NESTED, LSBLK);
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.lsblk.dev.part.size'), { 'sda/sda1': '1073741824', 'sda/sda2': '254985158656', 'nvme0n1/nvme0n1p1': '512109142016' });
  /** @type {any} */
  const more = structuredClone(LSBLK);
  more.blockdevices[2].children.push({ name: 'nvme0n1p2', size: 1 });
  s.data('lsblk', more);
  t.deepEqual(Object.keys(await metricValues(d, 'json.lsblk.dev.part.size')), ['sda/sda1', 'sda/sda2', 'nvme0n1/nvme0n1p1']);
  t.regex(s.logText(), /array 'dev\.part': 4 elements, serving the first 3 \(max_instances\)/);
});
