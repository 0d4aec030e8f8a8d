// Deterministic BCM data for the simulator: a head node, the lab's nodes, networks, categories and statuses,
// in BCM 10 or 11 shapes (shared/reference/bcm-api.md §2–§4 and §7.3). UUIDs are hashes of the inputs, so
// re-runs are identical. Two network layouts:
// - capture (default): shaped like the captured BCM 11 head node (upstream/bcm11): internalnet and
//   managementnet both flagged management: true, nodes reached on BOOTIF on internalnet, the head node on
//   managementnet, and BMC interfaces (ipmi0) on their own ipminet;
// - production: BOOTIF on an unreachable internalnet, ipmi0 on ipminet, and the reachable address on a
//   separate production network dgxnet (the predecessor's site).
import { createHash } from 'node:crypto';

export interface SimNodeInput {
  hostname: string;
  /** The address the node is reached on (its SSH listens there): BOOTIF's on internalnet in the capture layout, ens1f0np0's on dgxnet in the production layout. */
  productionIp: string;
  index: number;
  category: string;
  status?: string;
  closed?: boolean;
}

export interface BcmFixture {
  version: 'bcm10' | 'bcm11';
  nodes: Record<string, unknown>[];
  networks: Record<string, unknown>[];
  categories: Record<string, unknown>[];
  statuses: Map<string, Record<string, unknown>>;
  switches: Record<string, unknown>[];
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export function simUuid(seed: string, ...parts: Array<string | number>): string {
  const h = createHash('sha256')
    .update([seed, ...parts].join('\0'))
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function mac(prefix: number, index: number): string {
  const bytes = [0xb8, 0x59, 0x9f, prefix, (index >> 8) & 0xff, index & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

function entityTail(): Record<string, unknown> {
  return { modified: false, revision: '', to_be_removed: false, extra_values: null };
}

/** Addresses on the lab's non-production networks: nothing listens there (loopback, refused). */
function octets(net: 'internal' | 'ipmi' | 'management', subnet: number, index: number): string {
  const second = { management: 1, ipmi: 2, internal: 3 }[net];
  return `127.${second}.${subnet}.${index}`;
}

function network(seed: string, name: string, type: string, base: string, management: boolean, bootable: boolean): Record<string, unknown> {
  return {
    baseType: 'Network',
    childType: '',
    uuid: simUuid(seed, 'network', name),
    name,
    baseAddress: base,
    netmaskBits: 24,
    gateway: '0.0.0.0',
    type,
    domainName: `${name.replace(/net$/, '')}.cluster`,
    mtu: 1500,
    management,
    bootable,
    dynamicRangeStart: '0.0.0.0',
    dynamicRangeEnd: '0.0.0.0',
    IPv6: false,
    ipv6BaseAddress: '::0',
    ipv6Gateway: '::0',
    ipv6NetmaskBits: 0,
    layer3: false,
    layer3route: false,
    layer3ecmp: false,
    layer3splitStaticRoute: false,
    lockDownDhcpd: false,
    allowAutosign: 'AUTOMATIC',
    generateDNSZone: true,
    searchDomainIndex: 0,
    excludeFromSearchDomain: false,
    disableAutomaticExports: false,
    EC2AvailabilityZone: '',
    cloudSubnetID: '',
    notes: '',
    ...entityTail(),
  };
}

function iface(version: 'bcm10' | 'bcm11', fields: Record<string, unknown>, bmc: boolean): Record<string, unknown> {
  const common: Record<string, unknown> = {
    baseType: 'NetworkInterface',
    childType: bmc ? 'NetworkBmcInterface' : 'NetworkPhysicalInterface',
    dhcp: false,
    startIf: 'ALWAYS',
    bringupduringinstall: 'NO',
    onNetworkPriority: bmc ? 10 : 60,
    ...fields,
    ...entityTail(),
  };
  if (bmc) {
    Object.assign(common, { gateway: '0.0.0.0', lanchannel: 1, vlanid: 0 });
    if (version === 'bcm11') common.mac = '00:00:00:00:00:00';
    else delete common.mac;
  } else {
    Object.assign(common, {
      ipv6Ip: '::0',
      ipv6Dhcp: false,
      connectedMode: true,
      speed: '',
      alternativeHostname: '',
      additionalHostnames: [],
      switchPorts: [],
      cardtype: version === 'bcm10' ? 'Ethernet' : '',
    });
    if (version === 'bcm11') Object.assign(common, { bootable: false, excludeFromDhcpd: false });
  }
  return common;
}

function versionFields(version: 'bcm10' | 'bcm11'): Record<string, unknown> {
  return version === 'bcm11'
    ? {
        rackPosition: null,
        authenticationService: 'CATEGORY',
        accessSettings: null,
        chassisPosition: null,
        partNumber: '',
        serialNumber: '',
        prometheusMetricForwarders: [],
        defaultGatewayMetric: 0,
      }
    : { rack: null, tag: '', cpuspeedGovernor: '', disableFabricNVME: false, indexInsideContainer: 0 };
}

export type NetworkLayout = 'capture' | 'production';

export function buildBcmFixture(
  inputs: SimNodeInput[],
  opts: { version: 'bcm10' | 'bcm11'; subnet: number; seed?: string; networks?: NetworkLayout },
): BcmFixture {
  const seed = opts.seed ?? 'bcmkube-lab';
  const { version, subnet } = opts;
  const capture = (opts.networks ?? 'capture') === 'capture';
  const nets = {
    internal: network(seed, 'internalnet', 'INTERNAL', `127.${capture ? 0 : 3}.${subnet}.0`, true, true),
    ipmi: network(seed, 'ipminet', 'INTERNAL', `127.2.${subnet}.0`, false, false),
    management: network(seed, 'managementnet', 'INTERNAL', `127.1.${subnet}.0`, true, capture),
    ...(capture
      ? {}
      : {
          production: network(seed, 'dgxnet', 'EXTERNAL', `127.0.${subnet}.0`, false, false),
          external: network(seed, 'externalnet', 'EXTERNAL', `127.4.${subnet}.0`, false, false),
        }),
  };
  const categoryNames = [...new Set(inputs.map((n) => n.category))].sort();
  const categories = categoryNames.map((name) => ({
    baseType: 'Category',
    childType: '',
    uuid: simUuid(seed, 'category', name),
    name,
    roles: [],
    managementNetwork: nets.internal.uuid,
    softwareImageProxy: { parentSoftwareImage: simUuid(seed, 'image', name) },
    ...entityTail(),
  }));
  const categoryUuid = new Map(categories.map((c) => [c.name, c.uuid]));
  const partition = simUuid(seed, 'partition');
  const headUuid = simUuid(seed, 'node', 'bcm-head-01');
  const head: Record<string, unknown> = {
    baseType: 'Device',
    childType: 'HeadNode',
    uuid: headUuid,
    hostname: 'bcm-head-01',
    mac: mac(0xee, 1),
    partition,
    provisioningInterface: ZERO_UUID,
    managementNetwork: nets.internal.uuid,
    creationTime: 1763000000,
    powerControl: 'none',
    cmdaemonUrl: `https://127.0.${subnet}.254:8081`,
    defaultGateway: '0.0.0.0',
    parent_uuid: headUuid,
    notes: '',
    interfaces: [
      iface(
        version,
        {
          uuid: simUuid(seed, 'if', 'head', 'eth0'),
          name: 'eth0',
          mac: mac(0xee, 1),
          ip: capture ? `127.1.${subnet}.254` : `127.3.${subnet}.254`,
          network: capture ? nets.management.uuid : nets.internal.uuid,
        },
        false,
      ),
      iface(
        version,
        {
          uuid: simUuid(seed, 'if', 'head', 'eth1'),
          name: 'eth1',
          mac: mac(0xee, 2),
          ip: `127.0.${subnet}.254`,
          network: (nets.external ?? nets.internal).uuid,
        },
        false,
      ),
    ],
    roles: [
      ['HeadNodeRole', 'headnode'],
      ['BootRole', 'boot'],
      ['ProvisioningRole', 'provisioning'],
    ].map(([childType, name]) => ({
      baseType: 'Role',
      childType,
      name,
      uuid: simUuid(seed, 'role', name!),
      addServices: [],
      ...entityTail(),
    })),
    fsexports: [],
    ...versionFields(version),
    ...entityTail(),
  };
  const statuses = new Map<string, Record<string, unknown>>();
  statuses.set(headUuid, deviceStatus(headUuid, 'UP', false));
  const nodes = inputs.map((n) => {
    const uuid = simUuid(seed, 'node', n.hostname);
    const bootif = simUuid(seed, 'if', n.hostname, 'BOOTIF');
    const nodeMac = mac(0x10, n.index);
    statuses.set(uuid, deviceStatus(uuid, n.status ?? 'UP', n.closed ?? false));
    return {
      baseType: 'Device',
      childType: 'PhysicalNode',
      uuid,
      hostname: n.hostname,
      mac: nodeMac,
      category: categoryUuid.get(n.category),
      partition,
      provisioningInterface: bootif,
      managementNetwork: ZERO_UUID,
      creationTime: 1763006515,
      powerControl: 'ipmi0',
      provisioningTransport: 'RSYNCDAEMON',
      cmdaemonUrl: '',
      defaultGateway: '0.0.0.0',
      parent_uuid: uuid,
      notes: '',
      kernelParameters: '',
      bootLoader: 'CATEGORY',
      userdefined1: '',
      userdefined2: '',
      bmcSettings: { baseType: 'BMCSettings', userName: '', userID: -1, privilege: 'ADMINISTRATOR' },
      // Keys beyond the reference's table (a real node has ~80): present so clients learn to ignore extras.
      installMode: 'CATEGORY',
      nextInstallMode: '',
      ioScheduler: '',
      disksetup: '',
      datanode: false,
      excludeListUpdate: '',
      initializeScript: '',
      finalizeScript: '',
      fsexports: [],
      fsmounts: [],
      services: [],
      staticRoutes: [],
      gpuSettings: [],
      interfaces: [
        iface(
          version,
          {
            uuid: bootif,
            name: 'BOOTIF',
            mac: nodeMac,
            ip: capture ? n.productionIp : octets('internal', subnet, n.index),
            network: nets.internal.uuid,
          },
          false,
        ),
        iface(
          version,
          { uuid: simUuid(seed, 'if', n.hostname, 'ipmi0'), name: 'ipmi0', ip: octets('ipmi', subnet, n.index), network: nets.ipmi.uuid },
          true,
        ),
        ...(nets.production
          ? [
              iface(
                version,
                {
                  uuid: simUuid(seed, 'if', n.hostname, 'prod'),
                  name: 'ens1f0np0',
                  mac: mac(0x20, n.index),
                  ip: n.productionIp,
                  network: nets.production.uuid,
                },
                false,
              ),
            ]
          : []),
      ],
      roles: [],
      ...versionFields(version),
      ...entityTail(),
    };
  });
  const switchUuid = simUuid(seed, 'switch', 'leaf-01');
  const switches = [
    {
      baseType: 'Device',
      childType: 'Switch',
      uuid: switchUuid,
      hostname: 'leaf-01',
      mac: mac(0xaa, 1),
      interfaces: [],
      roles: [],
      ...entityTail(),
    },
  ];
  statuses.set(switchUuid, deviceStatus(switchUuid, 'UP', false));
  return { version, nodes: [head, ...nodes], networks: Object.values(nets), categories, statuses, switches };
}

export function deviceStatus(uuid: string, status: string, closed: boolean): Record<string, unknown> {
  return {
    baseType: 'DeviceStatus',
    ref_device_uuid: uuid,
    status,
    reportedStatus: status,
    reportedStatusTimestamp: 1763006600,
    closed,
    muted: false,
    burning: false,
    unassigned: false,
    restartRequired: false,
    restartRequiredReasons: [],
    healthCheckFailed: false,
    healthCheckUnknown: false,
    provisioningFailed: false,
    stateFlapping: false,
    pingable: status === 'UP',
    sshable: status === 'UP',
    noPingMethod: false,
    hasClientDaemon: status === 'UP',
    infoMessage: '',
    userMessage: '',
    toolMessage: '',
    updateIndex: 1,
  };
}

/** `count` DGX nodes for benchmarks: dgx-00001…, production addresses spread over 127.10.0.0/16 upwards. */
export function syntheticSimNodes(count: number): SimNodeInput[] {
  return Array.from({ length: count }, (_, i) => ({
    hostname: `dgx-${String(i + 1).padStart(5, '0')}`,
    index: (i % 250) + 1,
    productionIp: `127.${10 + Math.floor(i / 62500)}.${Math.floor((i % 62500) / 250)}.${(i % 250) + 1}`,
    category: i % 10 === 0 ? 'cpu-nodes' : 'dgx-h100',
  }));
}
