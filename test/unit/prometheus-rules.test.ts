// The alert rules: valid for Prometheus (`promtool check rules`) and each rule's unit
// test passes (`promtool test rules infra/prometheus/alerts.test.yml`: fires when it
// should, stays quiet on the look-alike series). promtool comes with Debian's
// prometheus package, which services:up installs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const DIR = 'infra/prometheus';
const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: 5 rules found/);
  });

  it('each rule has a unit test, and they pass', () => {
    const rules = (parse(readFileSync(`${DIR}/alerts.yml`, 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
    const tests = parse(readFileSync(`${DIR}/alerts.test.yml`, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    expect([...fired].sort()).toEqual([...rules].sort());
    expect([...quiet].sort()).toEqual([...rules].sort());
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });
});
