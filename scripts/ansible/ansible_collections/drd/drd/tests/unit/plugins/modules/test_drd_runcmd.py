# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_runcmd

STATUS = ['status', '--json']
UPGRADE = ['apt-get', '-y', 'upgrade']
RUN = ['runcmd', '-x', 'report=json']


def test_runcmd_that_changed_packages_is_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(RUN + UPGRADE)
    fake_drd.expect(STATUS, stdout='status/patched.json')
    res = run_module(drd_runcmd, {'command': UPGRADE})
    assert res['changed'] and res['image'] == 'sysimage_001'
    assert [c['package'] for c in res['changes']] == ['openssl', 'libssl3']
    fake_drd.assert_done()


def test_runcmd_that_changed_no_package_is_not_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    fake_drd.expect(RUN + UPGRADE)
    fake_drd.expect(STATUS, stdout='status/patched-again.json')
    res = run_module(drd_runcmd, {'command': UPGRADE})
    assert not res['changed'] and res['changes'] == []


def test_a_command_drd_does_not_read_counts_as_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(RUN + ['update-initramfs', '-u'])
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_runcmd, {'command': ['update-initramfs', '-u']})
    assert res['changed']


def test_check_mode_runs_precheck_only(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(RUN + ['-x', 'precheck_only=true'] + UPGRADE, stdout='runcmd/precheck-upgrade.json')
    res = run_module(drd_runcmd, {'command': UPGRADE}, check=True)
    assert res['changed'] and res['report']['result'] == 'ok'
    runs = [c for c in fake_drd.calls() if c[0] == 'runcmd']
    assert runs and all('precheck_only=true' in c for c in runs)
    fake_drd.assert_done()


def test_check_mode_with_nothing_to_upgrade_is_not_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    fake_drd.expect(RUN + ['-x', 'precheck_only=true'] + UPGRADE, stdout='runcmd/precheck-nothing.json')
    res = run_module(drd_runcmd, {'command': UPGRADE}, check=True)
    assert not res['changed']


def test_options_become_x_options(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(['runcmd', '-x', 'image=sysimage_001', '-x', 'depot=/srv/debs', '-x', 'network=false', '-x', 'name=CHG42',
                     '-x', 'report=json', 'dpkg', '-i', '/srv/debs/a.deb'])
    fake_drd.expect(STATUS, stdout='status/patched.json')
    res = run_module(drd_runcmd, {'command': ['dpkg', '-i', '/srv/debs/a.deb'], 'image': 'sysimage_001', 'depot': ['/srv/debs'],
                                  'network': 'false', 'name': 'CHG42'})
    assert res['changed']
    fake_drd.assert_done()


def test_a_refused_command_fails_with_the_report(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    cmd = ['apt-get', 'install', '-y', 'openssh-server']
    fake_drd.expect(RUN + cmd, stdout='runcmd/refused.json', rc=1)
    res = run_module(drd_runcmd, {'command': cmd})
    assert res['failed']
    assert res['report']['refusals'][0].startswith('openssh-server')
    fake_drd.assert_done()


def test_check_mode_refusal_fails_with_the_report(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    cmd = ['apt-get', 'install', '-y', 'openssh-server']
    fake_drd.expect(RUN + ['-x', 'precheck_only=true'] + cmd, stdout='runcmd/refused.json', rc=1)
    res = run_module(drd_runcmd, {'command': cmd}, check=True)
    assert res['failed'] and res['report']['result'] == 'refused'
    fake_drd.assert_done()


def test_check_mode_of_a_command_drd_does_not_read_is_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(RUN + ['-x', 'precheck_only=true', 'update-initramfs', '-u'], stdout='runcmd/precheck-nothing.json')
    res = run_module(drd_runcmd, {'command': ['update-initramfs', '-u']}, check=True)
    assert res['changed']
