"""Ridge regression in matrix calculus: gradient, closed-form minimiser, curvature.

Check it with ``dlmath check examples/ridge.py``; add it to the reference page with
``dlmath build --topics examples/ridge.py``.
"""

from dlmath.derive import At, Eq, Ge, Grad, Hess, Identity, Inverse, Norm, Topic, ZeroMatrix

t = Topic(
    "ridge-regression",
    "Ridge regression has one minimiser, in closed form",
    claim=(
        "With a penalty $lam > 0$ the loss $loss$ has gradient $X.T*(X*w - y) + lam*w$, vanishing only "
        "at $w_star == Inverse(X.T*X + lam*Identity(d))*X.T*y$, and its curvature is at least $lam$."
    ),
    sizes=({"n": 4, "d": 2}, {"n": 7, "d": 3}),
    dims={"n": 3, "d": 2},
)
n, d = t.dim("n"), t.dim("d")
X, w, y, v = t.matrix("X", n, d), t.vector("w", d), t.vector("y", n), t.vector("v", d)
lam = t.scalar("lam")
w_star = t.vector("w_star", d)
t.assume(lam > 0)
t.define(w_star, Inverse(X.T * X + lam * Identity(d)) * X.T * y)
loss = t.let("loss", Norm(X * w - y) ** 2 / 2 + lam * Norm(w) ** 2 / 2)
curvature = t.let("curvature", X.T * X + lam * Identity(d))

t.step(
    "gradient",
    Eq(Grad(loss, w), X.T * (X * w - y) + lam * w),
    label="The gradient",
    why="The squared error contributes $X.T*(X*w - y)$ and the penalty $Grad(lam*Norm(w)**2/2, w) == lam*w$.",
)
t.step(
    "normal-equation",
    Eq(curvature * w_star, X.T * y),
    label="Setting it to zero gives a linear system",
    why="Collect the terms in $w$: the matrix $curvature$ multiplies it.",
    simplify=("numerator",),
)
t.step(
    "minimiser",
    Eq(At(Grad(loss, w), w, w_star), ZeroMatrix(d, 1)),
    label="Its solution is the stationary point",
    why="The penalty makes $curvature$ invertible even where the Gram matrix $X.T*X$ is not.",
    simplify=("numerator",),
    dims={"n": 3, "d": 1},
)
t.step(
    "hessian",
    Eq(Hess(loss, w), curvature),
    label="The curvature",
    why="Differentiating the gradient once more: a Gram matrix plus the penalty.",
    rtol=1e-5,
    atol=1e-5,
)
t.claim(
    "strongly-convex",
    Ge(v.T * curvature * v, lam * Norm(v) ** 2),
    label="Every direction curves up by at least $lam$",
    why="$v.T*curvature*v == Norm(X*v)**2 + lam*Norm(v)**2$, and the first term is never negative.",
    simplify=("expand",),
)
t.prose = """\
Adding $lam*Norm(w)**2/2$ to the squared error is the simplest fix for a Gram matrix $X.T*X$ that
is singular or badly conditioned: the curvature becomes $curvature$, so the minimiser exists, is
unique, and moves continuously with the data.
"""
