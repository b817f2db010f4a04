a = b = c = 1
a, b = b, a
[a, *b] = x
(a, (b, c)) = y
a.b = 1
a[0] = 2
a[1:2] = 3
*a, b = c
x = yield_ = 3
