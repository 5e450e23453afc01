#!/usr/bin/env python3
# Skills of a nano model, read off the texts `leap eval` sampled (docs/nano.md, session-4 runs):
#   scripts/nano-skills.py RESULTS_DIR...   (each a leap eval --out folder; the dataset file d.jsonl
#   beside it, as scripts written by hand put it; override with NANO_DATA=FILE)
# product: tries whose product 7x+3 mod 40 is right; yes-key: found keys that name the key tried;
# listed: tries of a key the problem lists; verdict: verdicts right for the product written;
# on hits: passing products answered yes; step: steps right given the one before.
import glob, json, os, re, sys
from collections import Counter
for d in sys.argv[1:]:
    data = os.environ.get('NANO_DATA') or os.path.join(os.path.dirname(d.rstrip('/')), 'd.jsonl')
    tgt = {}
    for l in open(data):
        j = json.loads(l); tgt[len(tgt)] = [int(x) for x in re.findall(r'#(\d+)', j['problem'])]
    prod=[0,0]; cand=[0,0]; copy=[0,0]; verd=[0,0]; yes_ok=[0,0]; step=[0,0]; found=0; paths=0; ends=[]
    for f in glob.glob(d+'/*.jsonl'):
        for l in open(f):
            j=json.loads(l)
            t_ = tgt[j['index']]
            for p in j['trace']['paths']:
                paths+=1
                t=p['text']
                for m in re.finditer(r'(\d+)\?=(\d+)( no| yes so x=(\d+))', t):
                    k,v=int(m.group(1)),int(m.group(2)); vd=' yes' if 'yes' in m.group(3) else ' no'
                    prod[1]+=1; prod[0]+= v==(7*k+3)%40
                    if vd==' yes': copy[1]+=1; copy[0]+= int(m.group(4))==k
                    verd[1]+=1; verd[0]+= (vd==' yes')==(v%8==0)
                    if v%8==0: yes_ok[1]+=1; yes_ok[0]+= vd==' yes'
                    cand[1]+=1; cand[0]+= k in t_
                for m in re.finditer(r'y(\d)=(\d+)\n\ny(\d)=(\d+)', t):
                    step[1]+=1; step[0]+= int(m.group(4))==(3*int(m.group(2))+1)%40
                found+= ' so x=' in t
                ends.append(p['finish'])
    print(os.path.basename(d.rstrip('/')), 'paths',paths,'product %.2f (%d)'%(prod[0]/max(1,prod[1]),prod[1]), 'yes-key %.2f'%(copy[0]/max(1,copy[1])), 'listed %.2f'%(cand[0]/max(1,cand[1])), 'verdict %.2f, on hits %.2f (%d)'%(verd[0]/max(1,verd[1]), yes_ok[0]/max(1,yes_ok[1]), yes_ok[1]), 'step %.2f (%d)'%(step[0]/max(1,step[1]),step[1]), 'found %.2f'%(found/max(1,paths)), Counter(ends).most_common(3))
