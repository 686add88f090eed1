# %% [markdown]
# # A parameter sweep from Python, notebook style
#
# The chaos of the logistic map x -> r x (1 - x): its Lyapunov exponent
# for 12 values of r, one zpar task per value, run as a sweep (journal,
# resume, report), watched while it runs, then plotted (if matplotlib is
# installed) and checked against a second computation with Client.map.
#
# Each `# %%` is a cell: open this file in Jupyter (jupytext), VS Code or
# Spyder and run the cells one by one, or run it whole with
# `python3 examples/python-sweep.py`.  It needs a running cluster
# (`zpar cluster start -n 4`) and the zpar package on PYTHONPATH
# (doc/python.md).

# %%
import os
import tempfile
import time

import zpar

client = zpar.Client()  # the cluster `zpar` itself would use
print("connected to", client.connection_file, "engines", len(client.engines()))

# %% [markdown]
# The sweep file: the command is a small awk program (every engine has
# awk), `{r}` is the parameter.  Literal braces of awk are doubled.

# %%
workdir = tempfile.mkdtemp(prefix="zpar-example.")
LYAPUNOV = (
    "BEGIN {{ x = 0.5; s = 0; for (i = 0; i < 4000; i++) {{ d = r * (1 - 2 * x); "
    "if (d < 0) d = -d; if (i >= 1000) s += log(d + 1e-300); x = r * x * (1 - x) }} "
    'printf "%.6f\\n", s / 3000 }}'
)
rs = [2.9, 3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0]
sweep_file = os.path.join(workdir, "logistic.yaml")
with open(sweep_file, "w") as f:
    f.write("name: logistic\n")
    f.write("command: [awk, -v, 'r={r}', '%s']\n" % LYAPUNOV.replace("'", "''"))
    f.write("params:\n  r: [%s]\n" % ", ".join(str(r) for r in rs))
    f.write("retries: 1\ntimeout: 1m\n")

# %% [markdown]
# Run it in the background and watch its progress (in a notebook the
# line updates in place).

# %%
sweep = zpar.Sweep(sweep_file, connection_file=client.connection_file)
run = sweep.run(wait=False)
while not run.done():
    st = sweep.status()
    print("\r%(succeeded)d/%(points)d done, %(failed)d failed, %(running)d running" % st,
          end="", flush=True)
    time.sleep(0.2)
status = run.wait()
print()
print("points %(points)d, succeeded %(succeeded)d, failed %(failed)d" % status)

# %% [markdown]
# The report: one plain dict per point (pandas.DataFrame(rows) makes a
# table of it when pandas is installed); each point's standard output is
# in the file its row names.

# %%
rows = sweep.report()
for row in rows:
    with open(row["stdout"]) as f:
        row["lyapunov"] = float(f.read())
try:
    import pandas

    print(pandas.DataFrame(rows)[["r", "state", "lyapunov", "wall_s", "engine"]])
except ImportError:
    for row in rows:
        print("r=%-4s %-10s lambda=%9.5f  %.3f s on engine %s"
              % (row["r"], row["state"], row["lyapunov"], row["wall_s"], row["engine"]))

# %% [markdown]
# The same numbers straight from the client: `map` submits every task at
# once and gives the results in order (its template is formatted like the
# sweep's: `{}` is the item, literal braces doubled).

# %%
again = [float(r.stdout) for r in client.map(["awk", "-v", "r={}", LYAPUNOV], rs)]
assert again == [row["lyapunov"] for row in rows], (again, rows)
best = max(rows, key=lambda row: row["lyapunov"])
print("best: r=%s lambda=%.5f (chaotic where lambda > 0)" % (best["r"], best["lyapunov"]))

# %% [markdown]
# A plot, when matplotlib is installed (never required).

# %%
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot([row["r"] for row in rows], [row["lyapunov"] for row in rows], "o-")
    plt.axhline(0, color="grey")
    plt.xlabel("r")
    plt.ylabel("Lyapunov exponent")
    png = os.path.join(workdir, "lyapunov.png")
    plt.savefig(png)
    print("plot:", png)
except ImportError:
    print("(matplotlib is not installed: no plot)")

# %%
client.close()
