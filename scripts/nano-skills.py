#!/usr/bin/env python3
# Skills of a nano model, read off the texts `leap eval` sampled (docs/nano.md):
#   scripts/nano-skills.py RESULTS_DIR...   (each a leap eval --out folder; the dataset file d.jsonl
#   beside it, as scripts written by hand put it; override with NANO_DATA=FILE)
# target: tries that copy the problem's target; product: tries whose product 3x+t is right for the
# try as written; verdict: verdicts right for the product written (on hits: passing products
# answered yes); yes-key: found keys that name the key tried; start: starts right (found key and
# the problem's shift; start-shift: its shift part alone); plan: tries that end restating the
# problem's shift; step: steps right given the one before (the first: given the start's sum); peer-try: tries right
# after a comment that name a key a peer reported (the last peer's); stray: verdicts written
# without a try before; adopt: after a comment with a peer's key, paths whose own summary had
# none that try a peer's key next; unprompted: the same where no peer reported a key (should be
# 0); found: paths that found the right key; earned: Pass@1 counting only paths that reach the
# right answer the way the traces do (a passing try of the right key, then the steps up to y3,
# outside summaries and comments), beside the plain Pass@1 (a gap is an answer read off the
# problem without the search, as run 5f did; docs/nano.md).
import glob, json, os, re, sys
from collections import Counter
TRY = re.compile(r'3x\+(\d) at x=(\d) gives (\d+)( no| yes so x=(\d)) \(x\+(\d)\)')
for d in sys.argv[1:]:
    data = os.environ.get('NANO_DATA') or os.path.join(os.path.dirname(d.rstrip('/')), 'd.jsonl')
    tgt = {}
    for l in open(data):
        j = json.loads(l); tgt[len(tgt)] = (int(re.search(r'3x\+(\d)', j['problem']).group(1)), int(re.search(r'from x\+(\d)', j['problem']).group(1)))
    tc=[0,0]; prod=[0,0]; verd=[0,0]; yes_ok=[0,0]; copy=[0,0]; step=[0,0]; peer=[0,0]; stray=[0,0]; adopt=[0,0]; unprompted=[0,0]; start=[0,0]; sshift=[0,0]; plan=[0,0]; found=0; paths=0; right=0; earned=0; ends=Counter()
    for f in glob.glob(d+'/*.jsonl'):
        for l in open(f):
            j=json.loads(l)
            t_, shift = tgt[j['index']]
            key = (7 * (10 - t_)) % 10
            for p, rec in zip(j['trace']['paths'], j['paths']):
                paths+=1
                t=p['text']
                own = re.sub(r'<summarize>.*?</summarize>|<comment>.*?</comment>', '', t, flags=re.S)
                if rec.get('correct'):
                    right+=1
                    earned+= bool(re.search(r'yes so x=%d \(x\+\d\)\n\n(?:.|\n)*y3=\d' % key, own))
                for m in TRY.finditer(t):
                    tt,k,v=int(m.group(1)),int(m.group(2)),int(m.group(3)); yes='yes' in m.group(4)
                    tc[1]+=1; tc[0]+= tt==t_
                    prod[1]+=1; prod[0]+= v==3*k+tt
                    verd[1]+=1; verd[0]+= yes==(v%10==0)
                    if v%10==0: yes_ok[1]+=1; yes_ok[0]+= yes
                    if yes: copy[1]+=1; copy[0]+= int(m.group(5))==k
                    plan[1]+=1; plan[0]+= int(m.group(6))==shift
                for m in re.finditer(r'yes so x=(\d) \(x\+\d\)\n\ny0=(\d)\+(\d)=\d\n\n', t):
                    start[1]+=1; start[0]+= m.group(2)==m.group(1) and int(m.group(3))==shift
                    sshift[1]+=1; sshift[0]+= int(m.group(3))==shift
                for m in re.finditer(r'y0=(\d)\+(\d)=\d\n\n(?:[^y]*?)y1=(\d+)', t):
                    step[1]+=1; step[0]+= int(m.group(3))==(3*((int(m.group(1))+int(m.group(2)))%10)+1)%10
                for m in re.finditer(r'Peer \d+: "[^"]*x=(\d)[^"]*" </comment>\n\n[^\n]*\n\npeer\'s 3x\+\d at x=(\d)', t):
                    peer[1]+=1; peer[0]+= m.group(1)==m.group(2)
                for m in re.finditer(r'y(\d)=(\d+)\n\n(?:[^y]*?)y(\d)=(\d+)', t):
                    step[1]+=1; step[0]+= int(m.group(4))==(3*int(m.group(2))+1)%10
                stray[1]+=len(re.findall(r' gives \d+ (?:no|yes so x=\d)', t)); stray[0]+=len(re.findall(r'(?:^|\n\n) gives \d+ (?:no|yes so x=\d)', t))
                for m in re.finditer(r'<summarize>([^<]*)</summarize> <comment>(.*?)</comment>\n\n[^\n]*', t, re.S):
                    if 'x=' in m.group(1): continue
                    nxt = t[m.end():m.end() + 9]
                    a = adopt if 'x=' in m.group(2) else unprompted
                    a[1]+=1; a[0]+= nxt.startswith("\n\npeer's")
                found+= ('yes so x=%d' % key) in t
                ends[p['finish']]+=1
    r=lambda a: '%.2f (%d)'%(a[0]/max(1,a[1]),a[1])
    print(os.path.basename(d.rstrip('/')), 'paths',paths,'target',r(tc),'product',r(prod),'verdict',r(verd),'on hits',r(yes_ok),
          'yes-key',r(copy),'plan',r(plan),'start',r(start),'start-shift',r(sshift),'step',r(step),'peer-try',r(peer),'stray',r(stray),'adopt',r(adopt),'unprompted',r(unprompted),'found %.2f'%(found/max(1,paths)), 'pass@1 %.3f earned %.3f'%(right/max(1,paths), earned/max(1,paths)), ends.most_common(3))
