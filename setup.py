"""Build glue for the compiled row kernels; the project's metadata lives in pyproject.toml.

``rows.c`` is compiled once per instruction set (baseline; on x86-64 also AVX2+FMA+F16C and
AVX-512 F/DQ/BW/VL), each object with its own target flags and symbol suffix, and linked into one
extension, ``dlmath._kernels._native``, which picks among them at import (``__builtin_cpu_supports``).
No ``-march=native``: the wheel runs on any x86-64. The extension is optional: without a C compiler
the install succeeds and dlmath uses its NumPy path (``DLMATH_REQUIRE_KERNELS=1`` makes a failed
build an error instead).
"""

import os
import platform

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "src/dlmath/_kernels/csrc"
HEADERS = [
    f"{CSRC}/{h}"
    for h in (
        "pool.h",
        "rows.h",
        "rows_impl.h",
        "rows_lse.h",
        "rows_xent.h",
        "scalar.h",
        "simd.h",
        "vmath.h",
        "xla_ffi.h",
    )
]
X86 = platform.machine().lower() in ("x86_64", "amd64")
COMMON = ["-O3", "-ffp-contract=off", "-fvisibility=hidden"]
ISAS = [("baseline", 0, [])]
if X86:
    ISAS += [
        ("avx2", 1, ["-mavx2", "-mfma", "-mf16c"]),
        ("avx512", 2, ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma", "-mf16c"]),
    ]


class BuildKernels(build_ext):
    """Compiles ``rows.c`` for every instruction set into its own object before linking the extension."""

    def build_extension(self, ext):
        unix = self.compiler.compiler_type == "unix"
        isas = ISAS if unix else ISAS[:1]
        objects = []
        for name, level, flags in isas:
            objects += self.compiler.compile(
                [f"{CSRC}/rows.c"],
                output_dir=os.path.join(self.build_temp, name),
                macros=[("DL_ISA", str(level))],
                extra_postargs=(COMMON + flags) if unix else [],
                depends=HEADERS,
            )
        ext.extra_objects = objects
        ext.define_macros = [(f"DL_HAVE_{name.upper()}", "1") for name, _, _ in isas[1:]]
        ext.extra_compile_args = COMMON if unix else []
        super().build_extension(ext)


setup(
    ext_modules=[
        Extension(
            "dlmath._kernels._native",
            sources=[f"{CSRC}/module.c"],
            extra_link_args=["-pthread"] if os.name == "posix" else [],
            depends=HEADERS + [f"{CSRC}/rows.c"],
            optional=os.environ.get("DLMATH_REQUIRE_KERNELS") != "1",
        )
    ],
    cmdclass={"build_ext": BuildKernels},
)
