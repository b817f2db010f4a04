[x for x in y]
[x for x in y if x if z]
[x for x in y for z in x]
{x for x in y}
{k: v for k, v in d.items()}
(x for x in y)
[(a, b) for a, *b in c]
[x async for x in y]
[y for x in z if (y := x)]
