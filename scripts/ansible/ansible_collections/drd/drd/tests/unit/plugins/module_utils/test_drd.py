# -*- coding: utf-8 -*-
"""Tests of the shared code: drd's messages, facts from drd status, -x options."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.drd.drd.plugins.module_utils import drd

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def status(name):
    return json.loads(fixture('status/%s.json' % name))


def test_error_lines_take_drds_error_not_the_banners():
    assert drd.error_lines(fixture('stderr/clone-refused.txt')) == [
        'target /dev/vdb carries data (partition table gpt, 2 partitions); give -x overwrite=true to overwrite it']


def test_error_lines_keep_continuation_lines():
    err = '  ERROR: copying /etc: disk full\n    free some space on /dev/vdb\n=======  END Clone System Image failed\n'
    assert drd.error_lines(err) == ['copying /etc: disk full', 'free some space on /dev/vdb']


def test_error_lines_of_a_usage_error_keep_the_hint():
    err = "drd clone: no target: give -t DISK or -t IMAGE_FILE\nRun 'drd clone -h' for help.\n"
    assert drd.error_lines(err) == ['drd clone: no target: give -t DISK or -t IMAGE_FILE', "Run 'drd clone -h' for help."]


def test_error_lines_fall_back_to_the_last_line():
    assert drd.error_lines('* Scanning\nsomething odd happened\n') == ['something odd happened']
    assert drd.error_lines('') == []


def test_error_message_names_the_command_and_exit_code():
    msg = drd.error_message(['drd', 'activate'], 1, fixture('stderr/lock.txt'))
    assert msg.startswith('drd activate (exit 1): another drd command is running: pid 1234')


def test_warning_lines():
    assert drd.warning_lines(fixture('stderr/clone-warning.txt')) == [
        'the volume group sysvg has no room for snapshots: copied the live file systems in two passes']


def test_parse_json_says_which_command_printed_no_json():
    with pytest.raises(drd.DrdError) as e:
        drd.parse_json(['drd', 'sync', '--json'], 'Incorrect Usage: flag provided but not defined: -json')
    assert 'drd sync --json printed no JSON document' in e.value.msg


def test_facts_of_a_clone():
    f = drd.facts(status('one-clone'))
    assert f['booted'] == 'sysimage_000'
    assert f['clones'] == ['sysimage_001'] and f['complete_clones'] == ['sysimage_001']
    assert f['inactive'] == ['sysimage_001']
    assert f['trial'] == '' and f['trial_tries'] == 0
    assert f['images']['sysimage_001']['target'] == '/dev/vdb'


def test_facts_of_a_pending_trial():
    f = drd.facts(status('trial-pending'))
    assert (f['trial'], f['trial_tries'], f['activated']) == ('sysimage_001', 2, 'sysimage_001')


def test_facts_after_a_good_trial():
    f = drd.facts(status('trial-good'))
    assert (f['booted'], f['booted_state'], f['origin'], f['trial']) == ('sysimage_001', 'good', 'sysimage_000', '')
    assert f['clones'] == []


def test_facts_after_a_fallback():
    f = drd.facts(status('fell-back'))
    assert f['booted'] == 'sysimage_000'
    assert f['images']['sysimage_001']['state'] == 'bad'
    assert 'health check' in f['images']['sysimage_001']['reason']


def test_facts_of_no_images():
    f = drd.facts(status('no-images'))
    assert f['booted'] == '' and f['images'] == {} and f['clones'] == []


def test_complete_clone_on_matches_the_target_only():
    assert drd.complete_clone_on(status('one-clone'), '/dev/vdb')['name'] == 'sysimage_001'
    assert drd.complete_clone_on(status('one-clone'), '/dev/vdc') is None
    assert drd.complete_clone_on(status('broken-clone'), '/dev/vdb') is None
    assert drd.complete_clone_on(status('booted-only'), '/dev/vdb') is None


def test_xopts():
    assert drd.xopts([('overwrite', True), ('esp', None), ('exclude', ['/a', '/b']), ('tries', 3), ('trial', False)]) == [
        '-x', 'overwrite=true', '-x', 'exclude=/a', '-x', 'exclude=/b', '-x', 'tries=3', '-x', 'trial=false']


def test_image_named_by_name_id_or_disk():
    st = status('one-clone')
    assert drd.image_named(st, 'sysimage_001')['name'] == 'sysimage_001'
    assert drd.image_named(st, '9e8d7c6b-5a49-4382-b1a0-fedcba987654')['name'] == 'sysimage_001'
    assert drd.image_named(st, '/dev/vda')['name'] == 'sysimage_000'
    assert drd.image_named(st, '/dev/vdc') is None
    assert drd.image_named(st, '') is None
