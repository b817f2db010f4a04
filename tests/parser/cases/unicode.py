s = 'héllo wörld'
t = '日本語'
naïve = 1
π = 3.14
λ_x = 2
