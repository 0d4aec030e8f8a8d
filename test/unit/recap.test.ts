import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listedHosts, playHeading, readPlaybookOutput } from '../../actions/lib/kubespray/recap.ts';

const transcript = `
PLAY [k8s_cluster] *************************************************************

TASK [kubernetes/preinstall : Stop if ip var does not match local ips] *********
ok: [cp-01]
fatal: [dgx-02]: FAILED! => {"assertion": "ip in ansible_all_ipv4_addresses", "changed": false, "evaluated_to": false, "msg": "IPv4: '127.0.9.9' do not match"}
fatal: [dgx-03]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: ssh: connect to host 127.0.2.103 port 22: Connection refused", "unreachable": true}

TASK [container-engine/containerd : Download containerd] ***********************
fatal: [dgx-02]: FAILED! => {"msg": "second failure is not the first"}

PLAY RECAP *********************************************************************
cp-01                      : ok=12   changed=3    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
dgx-02                     : ok=5    changed=0    unreachable=0    failed=1    skipped=1    rescued=0    ignored=0
dgx-03                     : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
`;

describe('ansible-playbook output', () => {
  it('reads the PLAY RECAP per host', () => {
    const r = readPlaybookOutput(transcript);
    assert.deepEqual(
      r.recap.map((h) => [h.host, h.ok, h.changed, h.unreachable, h.failed, h.skipped]),
      [
        ['cp-01', 12, 3, 0, 0, 4],
        ['dgx-02', 5, 0, 0, 1, 1],
        ['dgx-03', 0, 0, 1, 0, 0],
      ],
    );
  });
  it("keeps the first failed task of each host, with ansible's message", () => {
    const r = readPlaybookOutput(transcript);
    assert.deepEqual(r.firstFailures['dgx-02'], {
      task: 'kubernetes/preinstall : Stop if ip var does not match local ips',
      message: "FAILED! IPv4: '127.0.9.9' do not match",
    });
    assert.match(r.firstFailures['dgx-03']!.message, /^UNREACHABLE! Failed to connect to the host via ssh/);
    assert.equal(r.firstFailures['cp-01'], undefined);
  });
});

describe('ansible-playbook output, details', () => {
  it("attributes a delegated task's failure to the node, not 'node -> delegate'", () => {
    const r = readPlaybookOutput(
      'TASK [Register the node] ****\nfatal: [cpu-03 -> localhost]: FAILED! => {"msg": "could not touch target"}\n',
    );
    assert.deepEqual(Object.keys(r.firstFailures), ['cpu-03']);
    assert.equal(r.firstFailures['cpu-03']!.task, 'Register the node');
  });
  it('names the play each PLAY line starts, for one log group per play', () => {
    assert.equal(playHeading('PLAY [k8s_cluster] *************************************************************'), 'play: k8s_cluster');
    assert.equal(playHeading('PLAY RECAP *********************************************************************'), 'PLAY RECAP');
    assert.equal(playHeading('TASK [x] ****'), undefined);
    assert.equal(playHeading('ok: [PLAY [x] ***]'), undefined);
  });
});

describe('ansible-playbook output: results printed over several lines', () => {
  // assert results are printed indented (the default callback's verbose-always results), as Kubespray's
  // preflight checks are asserts
  const multiline = [
    'TASK [Check 2.16.4 <= Ansible version < 2.17.0] ********************************',
    'fatal: [cpu-03]: FAILED! => {',
    '    "assertion": "ansible_version.string is version(minimal_ansible_version, \\">=\\")",',
    '    "changed": false,',
    '    "evaluated_to": false,',
    '    "msg": "Ansible must be between 2.16.4 and 2.17.0 exclusive - you have 2.14.18"',
    '}',
    'TASK [kubernetes/preinstall : Stop if even number of etcd hosts] ****',
    'fatal: [cpu-05]: FAILED! => {',
    '    "assertion": "groups.etcd | length is not divisibleby 2",',
    '    "msg": "Assertion failed"',
    '}',
    '',
    'PLAY RECAP *********************************************************************',
    'cpu-03                     : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0',
  ].join('\n');

  it("reads the message of a multi-line FAILED! result, not '{'", () => {
    const r = readPlaybookOutput(multiline);
    assert.deepEqual(r.firstFailures['cpu-03'], {
      task: 'Check 2.16.4 <= Ansible version < 2.17.0',
      message: 'FAILED! Ansible must be between 2.16.4 and 2.17.0 exclusive - you have 2.14.18',
    });
    assert.equal(r.firstFailures['cpu-05']!.task, 'kubernetes/preinstall : Stop if even number of etcd hosts');
    assert.deepEqual(
      r.recap.map((h) => [h.host, h.failed]),
      [['cpu-03', 1]],
    );
  });
  it('reports a result cut off before its closing brace with the text it has', () => {
    const r = readPlaybookOutput('TASK [t] ****\nfatal: [n1]: FAILED! => {\n    "msg": "cut');
    assert.match(r.firstFailures['n1']!.message, /^FAILED! \{ "msg": "cut/);
  });
});

describe('ansible-playbook --list-hosts', () => {
  it('collects the hosts of every play, once each', () => {
    const text = [
      'playbook: scale.yml',
      '',
      '  play #1 (all): Check Ansible version\tTAGS: [always]',
      "    pattern: ['all']",
      '    hosts (1):',
      '      dgx-06',
      '',
      '  play #3 (bastion[0]): Install bastion ssh config\tTAGS: []',
      "    pattern: ['bastion[0]']",
      '    hosts (0):',
      '',
      '  play #8 (kube_node): Target only workers\tTAGS: []',
      "    pattern: ['kube_node']",
      '    hosts (2):',
      '      dgx-06',
      '      dgx-07',
    ].join('\n');
    assert.deepEqual(listedHosts(text), ['dgx-06', 'dgx-07']);
  });
});
