# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_clone

STATUS = ['status', '--json']


def test_a_complete_clone_on_the_target_is_reused(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/dev/vdb', 'overwrite': True})
    assert not res['changed'] and res['reused'] and res['image'] == 'sysimage_001'
    fake_drd.assert_done()  # drd clone never ran


def test_clone_runs_drd_clone_with_its_options(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/booted-only.json')
    fake_drd.expect(['clone', '-t', '/dev/vdb', '-x', 'overwrite=true', '-x', 'exclude=/var/tmp', '-x', 'exclude=/srv/cache'])
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/dev/vdb', 'overwrite': True, 'exclude': ['/var/tmp', '/srv/cache']})
    assert res['changed'] and not res['reused'] and res['image'] == 'sysimage_001'
    fake_drd.assert_done()


def test_check_mode_runs_the_preview_and_changes_nothing(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/booted-only.json')
    fake_drd.expect(['clone', '-t', '/dev/vdb', '-p'])
    res = run_module(drd_clone, {'target': '/dev/vdb'}, check=True)
    assert res['changed']
    assert all('-p' in c for c in fake_drd.calls() if c[0] == 'clone')
    fake_drd.assert_done()


def test_check_mode_with_a_clone_there_is_not_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/dev/vdb'}, check=True)
    assert not res['changed']
    fake_drd.assert_done()


def test_a_broken_clone_is_cloned_again(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/broken-clone.json')
    fake_drd.expect(['clone', '-t', '/dev/vdb', '-x', 'overwrite=true'])
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/dev/vdb', 'overwrite': True})
    assert res['changed'] and res['image'] == 'sysimage_001'
    fake_drd.assert_done()


def test_a_clone_elsewhere_is_no_clone_on_target(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(['clone', '-t', '/srv/clone.img', '-x', 'image_size=40G'])
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/srv/clone.img', 'image_size': '40G'})
    assert res['failed']
    assert 'no complete clone of the booted image on /srv/clone.img' in res['msg']


def test_a_refused_clone_fails_with_drds_message(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/booted-only.json')
    fake_drd.expect(['clone', '-t', '/dev/vdb'], stderr='stderr/clone-refused.txt', rc=1)
    res = run_module(drd_clone, {'target': '/dev/vdb'})
    assert res['failed'] and res['rc'] == 1
    assert 'target /dev/vdb carries data' in res['msg'] and 'give -x overwrite=true' in res['msg']
    fake_drd.assert_done()


def test_a_warning_is_success_with_the_warning(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/booted-only.json')
    fake_drd.expect(['clone', '-t', '/dev/vdb', '-x', 'snapshot=auto'], stderr='stderr/clone-warning.txt', rc=2)
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    res = run_module(drd_clone, {'target': '/dev/vdb', 'snapshot': 'auto'})
    assert res['changed'] and not res.get('failed') and res['rc'] == 2
    assert any('no room for snapshots' in w for w in res['warnings'])


def test_absent_deletes_the_clone_on_target(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(['delete', 'sysimage_001'])
    res = run_module(drd_clone, {'target': '/dev/vdb', 'state': 'absent'})
    assert res['changed']
    fake_drd.assert_done()


def test_absent_in_check_mode_previews_the_delete(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/one-clone.json')
    fake_drd.expect(['delete', 'sysimage_001', '-p'])
    res = run_module(drd_clone, {'target': '/dev/vdb', 'state': 'absent'}, check=True)
    assert res['changed']
    fake_drd.assert_done()


def test_absent_with_no_clone_does_nothing(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/booted-only.json')
    res = run_module(drd_clone, {'target': '/dev/vdb', 'state': 'absent'})
    assert not res['changed']
    fake_drd.assert_done()
