a.b.c.d
a.b().c[0].d
(1).real
