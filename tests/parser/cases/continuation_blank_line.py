def f():
\
    return *a, *b
if 1:
   \
 pass
x = [1,
\
2]
