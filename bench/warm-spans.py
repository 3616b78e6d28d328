#!/usr/bin/env python3
"""
Median spans of warm logins from `perf script` output of the sched:sched_process_{exec,fork,exit} and
syscalls:sys_enter_connect tracepoints (bench/profile-warm records them): no ptrace, so the timeline is
an untraced login's. A login runs from the exec of /usr/bin/setpriv to the exit of that process (which
becomes jailsh, docker-jail, then docker-jail-attach); its children are named by what they exec.
"""
import re, sys, statistics
line_re = re.compile(r'^\s*(.+?)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)$')
logins, current = [], {}
child_of = {}
for line in open(sys.argv[1]):
    m = line_re.match(line)
    if not m:
        continue
    comm, pid, t, event, rest = m[1], int(m[2]), float(m[3]) * 1000, m[4], m[5]
    if event == 'sched:sched_process_exec':
        name = re.search(r'filename=(\S+)', rest)[1].rsplit('/', 1)[-1]
        if name == 'setpriv' and pid not in current and pid not in child_of:
            current[pid] = {'t0': t, 'marks': [], 'children': 0, 'threads': False}
        elif pid in current:
            current[pid]['marks'].append((f'exec {name}', t))
        elif pid in child_of and child_of[pid] in current:
            login = current[child_of[pid]]
            login['children'] += 1
            login['marks'].append((f'{name} #{login["children"]} starts', t))
            login.setdefault('child', {})[pid] = name
    elif event == 'sched:sched_process_fork':
        parent = int(re.search(r' pid=(\d+)', rest)[1])
        child = int(re.search(r'child_pid=(\d+)', rest)[1])
        if parent in current:
            child_of[child] = parent
            login = current[parent]
            if not login['threads'] and any(k.startswith('exec docker-jail') for k, _ in login['marks']):
                login['threads'] = True
                login['marks'].append(('Node runtime up (first thread)', t))
    elif event == 'syscalls:sys_enter_connect' and pid in current and comm.startswith('docker-jail-at'):
        if not any(k == 'attach connects' for k, _ in current[pid]['marks']):
            current[pid]['marks'].append(('attach connects', t))
    elif event == 'sched:sched_process_exit':
        if pid in current and 'group_dead=1' in rest.replace('true', '1'):
            login = current.pop(pid)
            login['marks'].append(('exit', t))
            logins.append(login)
        elif pid in child_of and child_of[pid] in current:
            login = current[child_of[pid]]
            name = login.get('child', {}).get(pid)
            if name:
                login['marks'].append((f'{name} #{list(login["child"]).index(pid) + 1} exits', t))
spans = {}
logins = [l for l in logins if any(k == 'exec jailsh' for k, _ in l['marks'])]  # not others' setpriv
for login in logins:
    prev = ('start', login['t0'])
    for name, t in sorted(login['marks'], key=lambda kv: kv[1]):
        spans.setdefault(f'{prev[0]} -> {name}', []).append(t - prev[1])
        prev = (name, t)
    spans.setdefault('TOTAL (setpriv exec to exit)', []).append(prev[1] - login['t0'])
print(f'{len(logins)} logins')
for k, v in spans.items():
    print(f'{statistics.median(v):7.2f} ms  (n {len(v):2})  {k}')
