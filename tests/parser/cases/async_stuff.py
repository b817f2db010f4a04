async def f():
    await x
    async for a in b:
        pass
    async with c as d:
        pass
    return await g()
    [x async for x in y]
    await (yield)
