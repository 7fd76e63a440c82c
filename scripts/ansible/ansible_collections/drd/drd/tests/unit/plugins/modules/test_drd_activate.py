# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_activate

STATUS = ['status', '--json']


def test_activate_on_trial(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    fake_drd.expect(['activate', '-x', 'trial=true', '-x', 'tries=3'])
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    res = run_module(drd_activate, {'trial': True, 'tries': 3})
    assert res['changed'] and res['image'] == 'sysimage_001' and res['boot']['trial'] == 'sysimage_001'
    fake_drd.assert_done()


def test_a_pending_trial_is_not_activated_again(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    res = run_module(drd_activate, {'trial': True, 'image': 'sysimage_001'})
    assert not res['changed']
    fake_drd.assert_done()


def test_check_mode_runs_activate_p(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    fake_drd.expect(['activate', '-p', '-x', 'trial=true', 'sysimage_001'])
    res = run_module(drd_activate, {'trial': True, 'image': 'sysimage_001'}, check=True)
    assert res['changed']
    fake_drd.assert_done()


def test_deactivate_a_pending_trial(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    fake_drd.expect(['deactivate'])
    fake_drd.expect(STATUS, stdout='status/patched.json')
    res = run_module(drd_activate, {'state': 'deactivated'})
    assert res['changed'] and res['image'] == 'sysimage_000'
    fake_drd.assert_done()


def test_deactivate_when_the_booted_image_boots_next_does_nothing(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    res = run_module(drd_activate, {'state': 'deactivated'})
    assert not res['changed']
    fake_drd.assert_done()


def test_activate_for_good_after_a_trial_is_changed(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    fake_drd.expect(['activate', 'sysimage_001'])
    fake_drd.expect(STATUS, stdout='status/trial-good.json')
    res = run_module(drd_activate, {'image': 'sysimage_001'})
    assert res['changed']


def test_a_refused_activate_fails_with_drds_message(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/patched.json')
    fake_drd.expect(['activate', '-x', 'trial=true'], stderr='stderr/lock.txt', rc=1)
    res = run_module(drd_activate, {'trial': True})
    assert res['failed'] and 'kill -INT 1234' in res['msg']


def test_an_image_named_by_its_disk_is_found_activated(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    res = run_module(drd_activate, {'trial': True, 'image': '/dev/vdb'})
    assert not res['changed']
    fake_drd.assert_done()
