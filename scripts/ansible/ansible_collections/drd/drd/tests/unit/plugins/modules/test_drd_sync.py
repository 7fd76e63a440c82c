# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_sync


def test_sync_that_copied_is_changed(fake_drd, run_module):
    fake_drd.expect(['sync', '--json'], stdout='sync/changes.json')
    res = run_module(drd_sync, {})
    assert res['changed'] and res['copied'] == ['/etc/motd', '/var/lib/app/data.db'] and res['merged'] == ['/etc/passwd', '/etc/group']
    fake_drd.assert_done()


def test_sync_with_nothing_to_do_is_not_changed(fake_drd, run_module):
    fake_drd.expect(['sync', '--json', 'sysimage_001'], stdout='sync/nothing.json')
    res = run_module(drd_sync, {'image': 'sysimage_001'})
    assert not res['changed'] and res['image'] == 'sysimage_001'


def test_check_mode_runs_sync_p(fake_drd, run_module):
    fake_drd.expect(['sync', '--json', '-p', '-x', 'exclude=/srv/scratch'], stdout='sync/changes.json')
    res = run_module(drd_sync, {'exclude': ['/srv/scratch']}, check=True)
    assert res['changed']
    assert all('-p' in c for c in fake_drd.calls())
    fake_drd.assert_done()


def test_conflicts_fail_naming_them(fake_drd, run_module):
    fake_drd.expect(['sync', '--json'], stdout='sync/conflicts.json', rc=2)
    res = run_module(drd_sync, {})
    assert res['failed'] and res['changed']
    assert '/etc/nginx/nginx.conf (changed on both sides' in res['msg']
    assert 'htop 3.2.2-2 (installed)' in res['msg']


def test_allow_conflicts_succeeds_with_a_warning(fake_drd, run_module):
    fake_drd.expect(['sync', '--json'], stdout='sync/conflicts.json', rc=2)
    res = run_module(drd_sync, {'allow_conflicts': True})
    assert not res.get('failed') and res['conflicts'][0]['path'] == '/etc/nginx/nginx.conf'
    assert any('1 conflict(s)' in w for w in res['warnings'])


def test_an_error_fails_with_drds_message(fake_drd, run_module):
    fake_drd.expect(['sync', '--json'], stderr='stderr/lock.txt', rc=1)
    res = run_module(drd_sync, {})
    assert res['failed'] and 'another drd command is running' in res['msg']
