// The DNS ConfigMaps a Kubespray v2.27 cluster has (nodelocaldns-config.yml.j2 and coredns-config.yml.j2 rendered
// with the defaults: nodelocaldns_ip 169.254.25.10, CoreDNS at 10.233.0.3, upstream /etc/resolv.conf). The
// cluster stand-in (test/lab/standins) holds them once the Kubespray stand-in has registered nodes.

export const NODELOCALDNS_COREFILE = `cluster.local:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
    prometheus :9253
    health 169.254.25.10:8080
}
in-addr.arpa:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
    prometheus :9253
}
ip6.arpa:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
    prometheus :9253
}
.:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . /etc/resolv.conf
    prometheus :9253
}
`;

export const COREDNS_COREFILE = `.:53 {
    errors {
    }
    health {
        lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf {
      prefer_udp
      max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

export function dnsConfigMaps(which: Array<'nodelocaldns' | 'coredns'>): object[] {
  const corefiles = { nodelocaldns: NODELOCALDNS_COREFILE, coredns: COREDNS_COREFILE };
  return which.map((name) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'kube-system', labels: { 'addonmanager.kubernetes.io/mode': 'EnsureExists' } },
    data: { Corefile: corefiles[name] },
  }));
}

/** The DNS workloads Kubespray v2.27 runs in kube-system (its nodelocaldns DaemonSet on every node, CoreDNS). */
export function dnsWorkloads(): object[] {
  const pod = (app: string, image: string, everywhere: boolean) => ({
    metadata: { labels: { 'k8s-app': app } },
    spec: {
      priorityClassName: 'system-node-critical',
      ...(everywhere ? { tolerations: [{ operator: 'Exists' }] } : {}),
      containers: [{ name: app, image }],
    },
  });
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'nodelocaldns', namespace: 'kube-system', labels: { 'k8s-app': 'nodelocaldns' } },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'nodelocaldns' } },
        template: pod('nodelocaldns', 'registry.k8s.io/dns/k8s-dns-node-cache:1.25.0', true),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: pod('kube-dns', 'registry.k8s.io/coredns/coredns:v1.11.3', false),
      },
    },
  ];
}
