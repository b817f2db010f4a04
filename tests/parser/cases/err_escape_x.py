x = 'ab\x4' + 1
