package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sshFakes stand in for ssh and scp: the probe (dpkg --print-architecture; uname -m;
// cat /proc/cpuinfo) answers from $FAKE_DPKG, $FAKE_MACHINE and $FAKE_CPUINFO; every
// other call is logged to $LOG, one "--" line after each.
var sshFakes = map[string]string{
	"ssh": `case "$2" in
*"dpkg --print-architecture"*)
	echo "probe $1" >>"$LOG"
	printf '%s\n%s\n' "$FAKE_DPKG" "$FAKE_MACHINE"
	cat "$FAKE_CPUINFO"
	exit 0 ;;
esac
printf 'ssh %s\n%s\n--\n' "$1" "$2" >>"$LOG"`,
	"scp": `printf 'scp %s\n--\n' "$*" >>"$LOG"`,
}

// deploy runs build/deploy.sh with the fakes first on PATH.
func deploy(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	bin := fakeBin(t, sshFakes)
	log := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command("../deploy.sh", args...)
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "LOG=" + log, "LC_ALL=C", "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, string(out), readLog(t, log)
}

// TestDeployPicksArch: the package architecture comes from the board's dpkg, ARMv6
// boards and foreign architectures are refused, and DEB_ARCH must agree with the board.
func TestDeployPicksArch(t *testing.T) {
	abs, err := filepath.Abs("testdata/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dpkg, machine, cpuinfo, debArch string
		want                                  string // the printed arch, or a part of the refusal
		ok                                    bool
	}{
		{"Pi 4, 64-bit OS", "arm64", "aarch64", "pi-4-arm64-kernel", "", "arm64", true},
		{"Pi 4, 32-bit OS on a 64-bit kernel", "armhf", "aarch64", "pi-4-arm64-kernel", "", "armhf", true},
		{"Pi 2", "armhf", "armv7l", "pi-2-b", "", "armhf", true},
		{"Pi Zero 2 W, 32-bit OS", "armhf", "armv7l", "pi-zero-2-w-32bit", "armhf", "armhf", true},
		{"x86-64 board", "amd64", "x86_64", "x86_64", "", "amd64", true},
		{"Pi Zero W", "armhf", "armv6l", "pi-zero-w", "", "ARMv6 board (uname -m armv6l", false},
		{"Pi 1 whose kernel says armv7l", "armhf", "armv7l", "pi-1-b-plus", "", "ARMv6 board", false},
		{"Pi Zero W with DEB_ARCH=armhf", "armhf", "armv6l", "pi-zero-w", "armhf", "ARMv6 board", false},
		{"armel", "armel", "armv5tel", "armv5-arm926", "", "dpkg architecture armel", false},
		{"DEB_ARCH disagrees", "arm64", "aarch64", "pi-4-arm64-kernel", "armhf", "needs the arm64 package", false},
		{"not Debian", "", "aarch64", "pi-4-arm64-kernel", "", "did not answer dpkg --print-architecture", false},
	} {
		env := []string{"FAKE_DPKG=" + tc.dpkg, "FAKE_MACHINE=" + tc.machine, "FAKE_CPUINFO=" + filepath.Join(abs, tc.cpuinfo)}
		args := []string{"--print-arch", "pi@board"}
		if tc.debArch != "" {
			args = append(args, tc.debArch)
		}
		code, out, log := deploy(t, env, args...)
		switch {
		case tc.ok && (code != 0 || strings.TrimSpace(out) != tc.want):
			t.Errorf("%s: exit %d, output %q; want %q", tc.name, code, out, tc.want)
		case !tc.ok && (code == 0 || !strings.Contains(out, tc.want)):
			t.Errorf("%s: exit %d, output %q; want a refusal with %q", tc.name, code, out, tc.want)
		case strings.Contains(log, "scp") || strings.Contains(log, "apt-get"):
			t.Errorf("%s: --print-arch copied or installed something:\n%s", tc.name, log)
		}
		if !strings.Contains(log, "probe pi@board") {
			t.Errorf("%s: the board was not asked over ssh:\n%s", tc.name, log)
		}
	}
}

// TestDeployInstallsWithoutPrompts: a given package is checked against the board, copied
// and installed with the options that keep an admin's conffile without a prompt; an
// ARMv6 board gets nothing.
func TestDeployInstallsWithoutPrompts(t *testing.T) {
	abs, err := filepath.Abs("testdata/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	debs := map[string]string{}
	for _, arch := range []string{"armhf", "arm64"} {
		debs[arch] = fakeDeb(t, arch)
	}

	env := []string{"FAKE_DPKG=armhf", "FAKE_MACHINE=armv7l", "FAKE_CPUINFO=" + filepath.Join(abs, "pi-2-b"), "DEB=" + debs["armhf"]}
	code, out, log := deploy(t, env, "pi@board")
	if code != 0 {
		t.Fatalf("deploy to a Pi 2: exit %d:\n%s\nlog:\n%s", code, out, log)
	}
	name := filepath.Base(debs["armhf"])
	for _, want := range []string{
		"scp " + debs["armhf"] + " pi@board:/tmp/" + name + "\n",
		"DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall",
		"-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /tmp/" + name,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("deploy did not run %q; calls:\n%s", want, log)
		}
	}
	if strings.Contains(log, "systemctl restart") {
		t.Errorf("deploy restarts the units itself (the postinst try-restarts what runs; a disabled unit must stay stopped):\n%s", log)
	}

	// the arm64 package for an armhf board
	env[len(env)-1] = "DEB=" + debs["arm64"]
	code, out, log = deploy(t, env, "pi@board")
	if code == 0 || !strings.Contains(out, "is for arm64; pi@board needs armhf") || strings.Contains(log, "scp") {
		t.Errorf("an arm64 package for an armhf board: exit %d, output %q, calls:\n%s", code, out, log)
	}

	// a Pi Zero W: refused before anything is built or copied
	env = []string{"FAKE_DPKG=armhf", "FAKE_MACHINE=armv6l", "FAKE_CPUINFO=" + filepath.Join(abs, "pi-zero-w"), "DEB=" + debs["armhf"]}
	code, out, log = deploy(t, env, "pi@board")
	if code == 0 || !strings.Contains(out, "nothing was built or copied") || strings.Contains(log, "scp") {
		t.Errorf("deploy to a Pi Zero W: exit %d, output %q, calls:\n%s", code, out, log)
	}
}

// fakeDeb builds an empty package of arch with dpkg-deb.
func fakeDeb(t *testing.T, arch string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: edgevoice\nVersion: 0.0.1\nArchitecture: " + arch +
		"\nMaintainer: test <test@example.com>\nDescription: test package\n"
	if err := os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, "edgevoice_0.0.1_"+arch+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}
