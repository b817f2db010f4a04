@a
@b.c
@d(e)
@f[g]
@(lambda x: x)
def h(): pass
@x
async def y(): pass
