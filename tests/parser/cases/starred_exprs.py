*a, b = c
a = *b, c
print(*args)
return_ = [*a, *b]
x = {**a}
for x in *a, *b: pass
