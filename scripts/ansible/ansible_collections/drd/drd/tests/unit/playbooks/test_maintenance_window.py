# -*- coding: utf-8 -*-
"""The maintenance-window playbook against fake drds: one host committed,
one whose trial fails and falls back (the roll-out stops before the
third), and a --check run that calls only drd's previews.

The hosts are local connections; each gets its drd --root (drd_root), by
which the fake drd picks the host's script. The reboot is skipped by its
tag: the fake drd's status after it shows what the host booted.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(HERE, '..', '..', '..', 'playbooks', 'maintenance_window.yml')
COLLECTIONS = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..', '..'))

UPGRADE = ['apt-get', '-y', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', 'upgrade']


def inventory(tmp_path, hosts):
    lines = ['[drd]']
    lines += ['%s drd_root=%s' % (h, tmp_path / 'roots' / h) for h in hosts]
    lines += ['[drd:vars]', 'ansible_connection=local', 'ansible_python_interpreter=/usr/bin/python3',
              'ansible_become=false', 'drd_clone_targets=["/dev/vda","/dev/vdb"]',
              'drd_boot_check_delay=0', 'drd_boot_check_retries=3']
    path = tmp_path / 'hosts.ini'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def play(tmp_path, hosts, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_HOME=str(tmp_path / 'ansible-home'))
    p = subprocess.run(['ansible-playbook', '-i', inventory(tmp_path, hosts), PLAYBOOK, '--skip-tags', 'reboot'] + list(extra),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return p.returncode, p.stdout


def until_trial(fake, root):
    """The calls of one host from its checks to the activation on trial."""
    r = ['--root', root]
    s = r + ['status', '--json']
    fake.expect(s, stdout='status/booted-only.json')
    fake.expect(s, stdout='status/booted-only.json')
    fake.expect(r + ['clone', '-t', '/dev/vdb'])
    fake.expect(s, stdout='status/one-clone.json')
    fake.expect(s, stdout='status/one-clone.json')
    fake.expect(r + ['runcmd', '-x', 'image=sysimage_001', '-x', 'report=json', 'apt-get', 'update'])
    fake.expect(s, stdout='status/one-clone.json')
    fake.expect(s, stdout='status/one-clone.json')
    fake.expect(r + ['runcmd', '-x', 'image=sysimage_001', '-x', 'report=json'] + UPGRADE)
    fake.expect(s, stdout='status/patched.json')
    fake.expect(r + ['sync', '--json', 'sysimage_001'], stdout='sync/changes.json')
    fake.expect(s, stdout='status/patched.json')
    fake.expect(r + ['activate', '-x', 'trial=true', '-x', 'tries=2', 'sysimage_001'])
    fake.expect(s, stdout='status/trial-pending.json')


def test_window_commits_a_good_host_and_stops_at_a_failed_trial(tmp_path, fake_drd_hosts):
    roots = dict((h, str(tmp_path / 'roots' / h)) for h in ('web1', 'web2', 'web3'))
    web1, web2, web3 = fake_drd_hosts('web1'), fake_drd_hosts('web2'), fake_drd_hosts('web3')
    until_trial(web1, roots['web1'])
    s1 = ['--root', roots['web1'], 'status', '--json']
    web1.expect(s1, stdout='status/trial-good.json')
    web1.expect(s1, stdout='status/trial-good.json')
    web1.expect(s1, stdout='status/trial-good.json')
    web1.expect(['--root', roots['web1'], 'commit'])
    web1.expect(s1, stdout='status/committed.json')
    until_trial(web2, roots['web2'])
    s2 = ['--root', roots['web2'], 'status', '--json']
    web2.expect(s2, stdout='status/trial-booted.json')  # health checks still running
    web2.expect(s2, stdout='status/fell-back.json')
    web2.expect(s2, stdout='status/fell-back.json')

    # web1 and web2 in one batch, web3 in the next; one failed host in two
    # is within max_fail_percentage: only the fallback's report stops it.
    rc, out = play(tmp_path, ['web1', 'web2', 'web3'], '-e', 'drd_serial=2', '-e', 'drd_max_fail_percentage=50')

    assert rc != 0, out
    web1.assert_done(out)
    web2.assert_done(out)
    assert web3.calls() == [], 'the roll-out went on to web3 after web2 fell back:\n' + out
    assert 'web2: the trial of sysimage_001 failed and the host fell back to sysimage_000 by itself' in out, out
    assert 'health check /etc/drd/checks.d/50-web exited 1' in out, out
    assert 'web1                       : ok=' in out and 'failed=0' in out.split('web1                       :')[1].splitlines()[0], out


def test_check_mode_runs_only_previews(tmp_path, fake_drd_hosts):
    check_mode_previews(tmp_path, fake_drd_hosts, UPGRADE, [])


def test_patch_from_a_depot(tmp_path, fake_drd_hosts):
    # drd_patch_depot reaches the patch's drd runcmd as -x depot=DIR, one per directory.
    patch = ['dpkg', '-i', '/srv/debs/agent_2.1_amd64.deb']
    check_mode_previews(tmp_path, fake_drd_hosts, patch, ['/srv/debs', '/srv/more'],
                        '-e', '{"drd_patch_command": %s, "drd_patch_depot": ["/srv/debs", "/srv/more"]}' % json.dumps(patch))


def check_mode_previews(tmp_path, fake_drd_hosts, patch, depots, *extra):
    root = str(tmp_path / 'roots' / 'web1')
    web1 = fake_drd_hosts('web1')
    r = ['--root', root]
    s = r + ['status', '--json']
    pre = ['-x', 'image=sysimage_001', '-x', 'report=json', '-x', 'precheck_only=true']
    web1.expect(s, stdout='status/one-clone.json')
    web1.expect(s, stdout='status/one-clone.json')  # the clone on /dev/vdb is reused
    web1.expect(s, stdout='status/one-clone.json')
    web1.expect(r + ['runcmd'] + pre + ['apt-get', 'update'], stdout='runcmd/precheck-nothing.json')
    web1.expect(s, stdout='status/one-clone.json')
    depot = [w for d in depots for w in ('-x', 'depot=' + d)]
    web1.expect(r + ['runcmd', '-x', 'image=sysimage_001'] + depot + pre[2:] + patch, stdout='runcmd/precheck-upgrade.json')
    web1.expect(r + ['sync', '--json', '-p', 'sysimage_001'], stdout='sync/changes.json')
    web1.expect(s, stdout='status/one-clone.json')
    web1.expect(r + ['activate', '-p', '-x', 'trial=true', '-x', 'tries=2', 'sysimage_001'])

    rc, out = play(tmp_path, ['web1'], '--check', *extra)

    assert rc == 0, out
    web1.assert_done(out)
    for call in web1.calls():
        words = call[2:]
        assert words[0] == 'status' or '-p' in words or 'precheck_only=true' in words, call


def test_hosts_not_ready_are_refused_before_anything_is_done(tmp_path, fake_drd_hosts):
    # db1: a trial left pending; db2: the last window's trial passed and was
    # never committed (a clone now would overwrite the image to back out to).
    db1, db2 = fake_drd_hosts('db1'), fake_drd_hosts('db2')
    db1.expect(['--root', str(tmp_path / 'roots' / 'db1'), 'status', '--json'], stdout='status/trial-pending.json')
    db2.expect(['--root', str(tmp_path / 'roots' / 'db2'), 'status', '--json'], stdout='status/trial-good.json')

    rc, out = play(tmp_path, ['db1', 'db2'], '-e', 'drd_serial=2', '-e', 'drd_max_fail_percentage=100')

    assert rc != 0, out
    db1.assert_done(out)
    db2.assert_done(out)
    assert 'db1 is not ready for a window: sysimage_001 is on trial (2 boots left)' in out, out
    assert ('db2 is not ready for a window: sysimage_001 passed its trial in an earlier window and is not committed '
            '(sysimage_000 is still complete)') in out, out
