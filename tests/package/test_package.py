#!/usr/bin/env python3
"""The install and the Debian package, from a scratch tree of the sources.

Configured for /usr and built, `cpack -G DEB` gives a package whose contents,
control fields and maintainer scripts are checked with dpkg-deb (-I, -c, -e,
-x): the unit runs the packaged binary on the packaged conffile, the postinst
creates the user and the directories inside a DPKG_ROOT, the postrm purges
them, the unit's exposure stays <= 2.0. The same tree reconfigured with the
default prefix installs (DESTDIR) a unit whose paths are /usr/local ones that
exist, and refuses `cmake --install --prefix` elsewhere.

usage: test_package.py SOURCE_DIR
"""
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import tap  # noqa: E402
from tap import check  # noqa: E402

SRC = os.path.abspath(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="indicatord-package-")
tree = os.path.join(tmp, "tree")


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(list(args), **kw)


def must(*args, **kw):
    r = run(*args, **kw)
    if r.returncode != 0:
        print(f"# {' '.join(args)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n"
              f"{r.stderr[-3000:]}")
        check(f"{args[0]} {args[1] if len(args) > 1 else ''} succeeds", False)
        tap.finish()
    return r


def unit_exec(unit_text, key):
    """argv of the unit's KEY= line (ExecStart, ExecStartPre)."""
    m = re.search(rf"^{key}=(.*)$", unit_text, re.M)
    return shlex.split(m.group(1)) if m else []


def config_arg(argv):
    return argv[argv.index("-c") + 1] if "-c" in argv else None


version = re.search(r"project\(indicatord VERSION ([0-9.]+)",
                    open(os.path.join(SRC, "CMakeLists.txt")).read()).group(1)
arch = must("dpkg", "--print-architecture").stdout.strip()

try:
    # --- the package ------------------------------------------------------------
    must("cmake", "-S", SRC, "-B", tree, "-DCMAKE_INSTALL_PREFIX=/usr",
         "-DINDICATORD_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo")
    must("cmake", "--build", tree, "-j2", "--target", "indicatord")
    must("cpack", "-G", "DEB", cwd=tree)
    deb = os.path.join(tree, f"indicatord_{version}_{arch}.deb")
    check("cpack -G DEB names the package as Debian does", os.path.exists(deb),
          str(os.listdir(tree)))

    info = must("dpkg-deb", "-f", deb).stdout
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", info, re.M))
    check("control: package, version, architecture",
          (fields.get("Package"), fields.get("Version"), fields.get("Architecture"))
          == ("indicatord", version, arch), info)
    depends = [d.strip() for d in fields.get("Depends", "").split(",")]
    # (no libmicrohttpd: the endpoint is served on libuv)
    libs = ["libuv1", "libcurl4", "libhiredis0.14", "libjansson4", "libyaml-0-2",
            "libcsv3", "libssl3", "libc6"]
    check("Depends: every library, from dpkg-shlibdeps (with versions)",
          all(any(d.startswith(lib + " (>=") or d == lib for d in depends) for lib in libs)
          and any("(>=" in d for d in depends), fields.get("Depends"))
    check("Depends: systemd-sysusers for the postinst",
          "systemd | systemd-standalone-sysusers" in depends, fields.get("Depends"))
    check("description and maintainer", fields.get("Description") and
          fields.get("Maintainer"), info)

    listing = must("dpkg-deb", "-c", deb).stdout.splitlines()
    entries = {}
    for line in listing:
        parts = line.split()
        entries[parts[5].lstrip(".")] = (parts[0], parts[1])
    files = {p for p, (mode, _) in entries.items() if mode.startswith("-")}
    want = {
        "/usr/bin/indicatord",
        "/lib/systemd/system/indicatord.service",
        "/usr/lib/sysusers.d/indicatord.conf",
        "/usr/lib/tmpfiles.d/indicatord.conf",
        "/etc/indicatord/indicatord.yaml",
        "/usr/share/indicatord/grafana/dashboards/indicatord.json",
        "/usr/share/indicatord/grafana/provisioning/datasources/indicatord.yaml",
        "/usr/share/indicatord/grafana/provisioning/dashboards/indicatord.yaml",
        "/usr/share/doc/indicatord/README.md",
        "/usr/share/doc/indicatord/configuration.md",
        "/usr/share/doc/indicatord/architecture.md",
        "/usr/share/doc/indicatord/examples/liaoning-2026.yaml",
    }
    # conf/examples/ (a working feed per public source) as the docs' sources.
    examples = os.path.join(SRC, "conf", "examples")
    want |= {"/usr/share/doc/indicatord/examples/sources/" + os.path.relpath(
        os.path.join(d, f), examples) for d, _, fs in os.walk(examples) for f in fs}
    check("contents: exactly binary, unit, sysusers, tmpfiles, conffile, Grafana, docs",
          files == want, f"extra {sorted(files - want)} missing {sorted(want - files)}")
    check("everything owned by root",
          all(owner == "root/root" for _, owner in entries.values()), str(entries))
    check("the binary is executable, the rest is not",
          all((mode == "-rwxr-xr-x") == (p == "/usr/bin/indicatord")
              for p, (mode, _) in entries.items() if p in files), str(entries))

    ctl = os.path.join(tmp, "control")
    must("dpkg-deb", "-e", deb, ctl)
    with open(os.path.join(ctl, "conffiles")) as f:
        conffiles = f.read().split()
    check("conffiles: the default configuration",
          conffiles == ["/etc/indicatord/indicatord.yaml"], str(conffiles))
    scripts = {}
    for name in ("postinst", "prerm", "postrm"):
        path = os.path.join(ctl, name)
        ok = os.path.exists(path) and os.stat(path).st_mode & 0o777 == 0o755
        check(f"{name}: present, mode 0755", ok)
        scripts[name] = open(path).read() if os.path.exists(path) else ""
        r = run("sh", "-n", path)
        check(f"{name}: sh -n", r.returncode == 0, r.stderr)
        r = run("shellcheck", "-s", "sh", path)
        check(f"{name}: shellcheck", r.returncode == 0, r.stdout + r.stderr)
    pi = scripts["postinst"]
    check("postinst: sysusers before tmpfiles, both on indicatord.conf",
          0 <= pi.find("systemd-sysusers") < pi.find("systemd-tmpfiles") and
          re.search(r"systemd-sysusers .*indicatord\.conf", pi) and
          re.search(r"systemd-tmpfiles .*--create indicatord\.conf", pi), pi)
    check("postinst: daemon-reload only under a running systemd",
          re.search(r"/run/systemd/system \]; then\n\s+systemctl --system daemon-reload", pi), pi)
    check("postinst: neither enables nor starts on a first install",
          "deb-systemd-invoke start" not in pi and
          "deb-systemd-helper enable" in pi and "debian-installed" in pi and
          re.search(r'if \[ -n "\$2" \]; then\n\s+deb-systemd-invoke try-restart', pi), pi)
    check("prerm: stops the service on remove",
          re.search(r'"\$1" = remove.*\n\s+deb-systemd-invoke stop indicatord\.service',
                    scripts["prerm"]), scripts["prerm"])
    check("postrm: mask on remove, purge + unmask on purge",
          "deb-systemd-helper mask indicatord.service" in scripts["postrm"] and
          "deb-systemd-helper purge indicatord.service" in scripts["postrm"] and
          "deb-systemd-helper unmask indicatord.service" in scripts["postrm"],
          scripts["postrm"])

    # --- what the files say agrees with where they are --------------------------
    root = os.path.join(tmp, "root")
    must("dpkg-deb", "-x", deb, root)
    unit = open(os.path.join(root, "lib/systemd/system/indicatord.service")).read()
    start, pre = unit_exec(unit, "ExecStart"), unit_exec(unit, "ExecStartPre")
    check("unit: ExecStart runs the packaged binary on the conffile",
          start[:1] == ["/usr/bin/indicatord"] and start[-1] == "run" and
          config_arg(start) in conffiles, str(start))
    check("unit: ExecStartPre checks the same configuration",
          pre[:1] == start[:1] and pre[-1] == "check" and
          config_arg(pre) == config_arg(start), str(pre))
    check("unit: ConfigurationDirectory is the conffile's directory",
          "ConfigurationDirectory=indicatord\n" in unit)
    doc = re.search(r"^Documentation=file://(\S+)", unit, re.M)
    check("unit: Documentation is packaged", doc and doc.group(1) in files, unit[:400])
    tmpfiles = open(os.path.join(root, "usr/lib/tmpfiles.d/indicatord.conf")).read()
    check("tmpfiles: the configuration directory",
          "d /etc/indicatord 0750 root indicatord" in tmpfiles, tmpfiles)
    prov = open(os.path.join(
        root, "usr/share/indicatord/grafana/provisioning/dashboards/indicatord.yaml")).read()
    m = re.search(r"path: (\S+)", prov)
    check("Grafana provider: the packaged dashboards",
          m and m.group(1) + "/indicatord.json" in files, prov)
    binary = os.path.join(root, "usr/bin/indicatord")
    r = run(binary, "--version")
    check("the packaged binary runs", r.returncode == 0 and version in r.stdout + r.stderr,
          r.stdout + r.stderr)
    r = run(binary, "-c", os.path.join(root, "etc/indicatord/indicatord.yaml"), "check")
    check("the packaged configuration passes check", r.returncode == 0, r.stdout + r.stderr)
    r = run("systemd-analyze", "security", "--offline=true", f"--root={root}",
            "indicatord.service")
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    score = float(m.group(1)) if m else 99
    print(f"# exposure of the packaged unit {score}")
    check("packaged unit: systemd-analyze security exposure <= 2.0", score <= 2.0,
          (r.stdout + r.stderr)[-800:])

    # --- the maintainer scripts, run by dpkg's rules inside a DPKG_ROOT ----------
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    for db in ("passwd", "group"):
        open(os.path.join(root, "etc", db), "a").close()
    env = dict(os.environ, DPKG_ROOT=root, DPKG_MAINTSCRIPT_PACKAGE="indicatord")
    r = run("sh", os.path.join(ctl, "postinst"), "configure", "",
            env=dict(env, DPKG_MAINTSCRIPT_NAME="postinst"))
    check("postinst configure succeeds", r.returncode == 0, r.stdout + r.stderr)
    users = [l.split(":") for l in open(os.path.join(root, "etc/passwd"))]
    groups = {l.split(":")[0]: int(l.split(":")[2])
              for l in open(os.path.join(root, "etc/group"))}
    user = next((u for u in users if u[0] == "indicatord"), None)
    check("postinst: system user indicatord, home /var/lib/indicatord, no login",
          user and int(user[2]) < 1000 and user[5] == "/var/lib/indicatord" and
          "nologin" in user[6], str(users))
    conf = os.stat(os.path.join(root, "etc/indicatord"))
    secrets = os.path.join(root, "etc/indicatord/secrets")
    check("postinst: /etc/indicatord 0750 root:indicatord",
          stat.S_IMODE(conf.st_mode) == 0o750 and conf.st_uid == 0 and
          conf.st_gid == groups.get("indicatord"), f"{conf} {groups}")
    check("postinst: /etc/indicatord/secrets 0700 root",
          os.path.isdir(secrets) and stat.S_IMODE(os.stat(secrets).st_mode) == 0o700)
    dsh = os.path.join(root, "var/lib/systemd/deb-systemd-helper-enabled")
    check("postinst: deb-systemd-helper keeps the unit's state",
          os.path.exists(os.path.join(dsh, "indicatord.service.dsh-also")))
    check("postinst: the unit is not enabled", not os.path.exists(os.path.join(
        root, "etc/systemd/system/multi-user.target.wants/indicatord.service")))
    r = run("sh", os.path.join(ctl, "prerm"), "remove",
            env=dict(env, DPKG_MAINTSCRIPT_NAME="prerm"))
    check("prerm remove succeeds", r.returncode == 0, r.stdout + r.stderr)
    # dpkg deletes the conffile on purge, then runs postrm purge.
    os.unlink(os.path.join(root, "etc/indicatord/indicatord.yaml"))
    os.makedirs(os.path.join(root, "var/lib/indicatord"))
    open(os.path.join(root, "var/lib/indicatord/spool"), "w").close()
    r = run("sh", os.path.join(ctl, "postrm"), "purge",
            env=dict(env, DPKG_MAINTSCRIPT_NAME="postrm"))
    check("postrm purge succeeds", r.returncode == 0, r.stdout + r.stderr)
    check("postrm purge: configuration and state directories gone",
          not os.path.exists(os.path.join(root, "etc/indicatord")) and
          not os.path.exists(os.path.join(root, "var/lib/indicatord")))
    check("postrm purge: deb-systemd-helper state gone",
          not os.path.exists(os.path.join(dsh, "indicatord.service.dsh-also")))

    # --- the default prefix: a unit that can start ------------------------------
    must("cmake", "-U", "CMAKE_INSTALL_PREFIX", "-S", SRC, "-B", tree)
    must("cmake", "--build", tree, "-j2", "--target", "indicatord")
    dest = os.path.join(tmp, "dest")
    r = run("cmake", "--install", tree, env=dict(os.environ, DESTDIR=dest))
    check("cmake --install (default prefix, DESTDIR)", r.returncode == 0,
          r.stdout[-1500:] + r.stderr[-1500:])
    unit_path = os.path.join(dest, "usr/local/lib/systemd/system/indicatord.service")
    unit = open(unit_path).read() if os.path.exists(unit_path) else ""
    start = unit_exec(unit, "ExecStart")
    check("default prefix: unit in /usr/local/lib/systemd/system, ExecStart "
          "/usr/local/bin/indicatord", start[:1] == ["/usr/local/bin/indicatord"],
          str(start))
    check("default prefix: the unit's binary was installed there",
          start and os.access(dest + start[0], os.X_OK))
    check("default prefix: the unit's configuration was installed there",
          config_arg(start) == "/usr/local/etc/indicatord/indicatord.yaml" and
          os.path.exists(dest + config_arg(start)), str(start))
    check("default prefix: no ConfigurationDirectory (it names /etc)",
          "\nConfigurationDirectory=" not in unit)
    tmpf = os.path.join(dest, "usr/local/lib/tmpfiles.d/indicatord.conf")
    check("default prefix: sysusers.d and tmpfiles.d where systemd looks",
          os.path.exists(os.path.join(dest, "usr/local/lib/sysusers.d/indicatord.conf")) and
          os.path.exists(tmpf) and
          "d /usr/local/etc/indicatord 0750" in open(tmpf).read())
    prov = os.path.join(dest, "usr/local/share/indicatord/grafana/provisioning/"
                        "dashboards/indicatord.yaml")
    m = re.search(r"path: (\S+)", open(prov).read()) if os.path.exists(prov) else None
    check("default prefix: Grafana provider names the installed dashboards",
          m and os.path.exists(dest + m.group(1) + "/indicatord.json"))
    r = run("cmake", "--install", tree, "--prefix", os.path.join(tmp, "elsewhere"),
            env=dict(os.environ, DESTDIR=os.path.join(tmp, "dest2")))
    check("cmake --install --prefix elsewhere is refused, saying why",
          r.returncode != 0 and "configured for the prefix /usr/local" in r.stdout + r.stderr
          and not os.path.exists(os.path.join(tmp, "dest2")), r.stdout + r.stderr)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
