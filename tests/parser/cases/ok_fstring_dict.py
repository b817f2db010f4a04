f'{ {1: 2}[1] }'
f'{x:%H:%M}'
f'{a if b else c}'
f'{"".join(x)}'
