package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// floatKey is one float field of the config: the TOML path of its table, its key, and
// whether the table is an array of tables.
type floatKey struct {
	table    string
	key      string
	arrayTbl bool
	array    bool // []float
}

// floatKeys finds every float of Config by reflection, so a float added later is
// checked too.
func floatKeys(t reflect.Type, table string, arrayTbl bool, out *[]floatKey) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := TOMLName(f)
		if name == "" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		sub := name
		if table != "" {
			sub = table + "." + name
		}
		switch {
		case ft.Kind() == reflect.Float32 || ft.Kind() == reflect.Float64:
			*out = append(*out, floatKey{table: table, key: name, arrayTbl: arrayTbl})
		case ft.Kind() == reflect.Slice && (ft.Elem().Kind() == reflect.Float64 || ft.Elem().Kind() == reflect.Float32):
			*out = append(*out, floatKey{table: table, key: name, arrayTbl: arrayTbl, array: true})
		case ft.Kind() == reflect.Struct && ft != durationType:
			floatKeys(ft, sub, false, out)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			floatKeys(ft.Elem(), sub, true, out)
		}
	}
}

// TestEveryFloatRejectsNaNAndInf: nan, inf and -inf are refused for every float of the
// config, with FILE:LINE:COL and the key (NaN compares false with every bound, so a
// range check alone lets it through: rate_per_minute = nan turned rate limiting off).
func TestEveryFloatRejectsNaNAndInf(t *testing.T) {
	var keys []floatKey
	floatKeys(reflect.TypeOf(Config{}), "", false, &keys)
	if len(keys) < 8 {
		t.Fatalf("found only %d float keys by reflection: %v", len(keys), keys)
	}
	for _, k := range keys {
		for _, v := range []string{"nan", "+inf", "-inf", "-nan", "inf"} {
			hdr := "[" + k.table + "]"
			full := k.table + "." + k.key
			if k.arrayTbl {
				hdr = "[[" + k.table + "]]"
				full = k.table + ".0." + k.key
			}
			val := v
			if k.array {
				val = "[" + v + "]"
			}
			doc := hdr + "\n" + k.key + " = " + val + "\n"
			_, err := Decode("x.toml", []byte(doc))
			if err == nil {
				t.Errorf("%s = %s: accepted", full, val)
				continue
			}
			want := fmt.Sprintf(`x.toml:2:1: key %q: `, full)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "not a finite number") {
				t.Errorf("%s = %s: error %q does not contain %q and \"not a finite number\"", full, val, err, want)
			}
		}
	}
	t.Logf("checked %d float keys", len(keys))
}

// TestKeyLifetimeAboveMinValidity: keys that live no longer than min_validity plus the
// refresh margin would be replaced as soon as they are minted (the key daemon minted
// 42,395 keys in 5 s); check-config refuses the pair with the key's position.
func TestKeyLifetimeAboveMinValidity(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want string // "" = accepted
	}{
		{"[provisioning]\nkey_lifetime = \"10s\"\n", `x.toml:2:1: key "provisioning.key_lifetime": 10s is not longer than min_validity (30s) + 5s`},
		{"[provisioning]\nmin_validity = \"1m\"\nkey_lifetime = \"65s\"\n", `x.toml:3:1: key "provisioning.key_lifetime": 1m5s is not longer than min_validity (1m) + 5s`},
		{"[provisioning]\nmin_validity = \"5s\"\nkey_lifetime = \"10s\"\n", `x.toml:3:1: key "provisioning.key_lifetime": 10s is not longer than min_validity (5s) + 5s`},
		{"[provisioning]\nmin_validity = \"4s\"\nkey_lifetime = \"10s\"\n", ""},
		{"[provisioning]\nkey_lifetime = \"36s\"\n", ""},
		{"[provisioning]\nkey_lifetime = \"0s\"\n", ""},
	} {
		_, err := Decode("x.toml", []byte(tc.doc))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.doc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// TestAbstractSocketRefused: "@name" is an abstract socket, which the daemon cannot
// give a group and mode; it passed validation and then failed at start.
func TestAbstractSocketRefused(t *testing.T) {
	_, err := Decode("x.toml", []byte("[provisioning]\nsocket = \"@edgevoice-keys\"\n"))
	if err == nil || !strings.Contains(err.Error(), `x.toml:2:1: key "provisioning.socket": "@edgevoice-keys" is an abstract socket`) {
		t.Fatalf("got %v", err)
	}
}

// TestPlainHTTPRefusedToRemoteHosts: http:// broker and mint URLs carry the device
// token in clear text; they are accepted only to loopback.
func TestPlainHTTPRefusedToRemoteHosts(t *testing.T) {
	for _, key := range []string{"broker_url", "mint_url", "preview_mint_url", "sdp_url", "preview_sdp_url"} {
		for _, host := range []string{"keys.example.com", "192.0.2.7", "[2001:db8::1]", "localhost.example.com", "127.0.0.1.nip.io"} {
			doc := fmt.Sprintf("[provisioning]\n\n%s = \"http://%s/x\"\n", key, host)
			_, err := Decode("x.toml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`x.toml:3:1: key "provisioning.%s": plain http://`, key)) {
				t.Errorf("%s to %s: got %v", key, host, err)
			}
		}
		for _, host := range []string{"127.0.0.1:8080", "[::1]:80", "localhost"} {
			doc := fmt.Sprintf("[provisioning]\n\n%s = \"http://%s/x\"\n", key, host)
			if _, err := Decode("x.toml", []byte(doc)); err != nil {
				t.Errorf("%s to %s: %v", key, host, err)
			}
		}
	}
}

// TestURLCredentialsNeverPrinted: a broker_url with a password is refused, and the
// message does not repeat it; a query secret (a private endpoint's ?code=) is allowed
// but masked where the config is printed (check-config).
func TestURLCredentialsNeverPrinted(t *testing.T) {
	for _, u := range []string{
		"https://dev:MARKERPW123@keys.example.com/",
		"https://dev:MARKERPW123@keys.example.com/?token=MARKERPW123",
		"ftp://dev:MARKERPW123@keys.example.com/?sig=MARKERPW123&x=1",
		"http://dev:MARKERPW123@keys.example.com/",
	} {
		_, err := Decode("x.toml", []byte("[provisioning]\nprofile = \"broker\"\nbroker_url = \""+u+"\"\n"))
		if err == nil {
			t.Errorf("%s accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "MARKERPW123") {
			t.Errorf("%s: the error shows the secret: %v", u, err)
		}
	}
	// Masked (what check-config prints) hides a URL's password and query values.
	c := Default()
	c.Provisioning.BrokerURL = "https://dev:MARKERPW123@keys.example.com/v?token=MARKERPW123"
	out, err := Encode(c.Masked())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "MARKERPW123") {
		t.Errorf("Masked config shows the URL's secret:\n%s", out)
	}
	if !strings.Contains(string(out), "keys.example.com") {
		t.Errorf("Masked config lost the host:\n%s", out)
	}
}

// TestFileSizeCap: a config file (or drop-in) over MaxFileSize is refused with a clear
// error before it is parsed.
func TestFileSizeCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgevoice.toml")
	big := "[appliance]\n# " + strings.Repeat("x", MaxFileSize) + "\n"
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadFiles(path)
	if err == nil || !strings.Contains(err.Error(), path+": larger than 1 MiB") {
		t.Fatalf("big main file: %v", err)
	}
	if err := os.WriteFile(path, []byte("[appliance]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(DropInDir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(DropInDir(path), "10-big.toml")
	if err := os.WriteFile(drop, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadFiles(path)
	if err == nil || !strings.Contains(err.Error(), drop+": larger than 1 MiB") {
		t.Fatalf("big drop-in: %v", err)
	}
	if _, err := Decode("mem.toml", []byte(big)); err == nil || !strings.Contains(err.Error(), "mem.toml: larger than 1 MiB") {
		t.Fatalf("Decode of a big source: %v", err)
	}
}

// TestManyUnknownKeysBounded: a file full of unknown keys gets a bounded report (the
// first maxUnknownKeys and a count), not one line per key: go-toml builds the context
// of every strict error from the whole document, which was quadratic (100k keys: 173 s).
func TestManyUnknownKeysBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("[appliance]\n")
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "k%d = 1\n", i)
	}
	_, err := Decode("x.toml", []byte(b.String()))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if len(e.Problems) > maxUnknownKeys+1 {
		t.Fatalf("%d problems for %d unknown keys, want at most %d", len(e.Problems), n, maxUnknownKeys+1)
	}
	if !regexp.MustCompile(`x.toml: and \d+ more unknown keys`).MatchString(err.Error()) {
		t.Fatalf("no summary of the rest:\n%.600s", err)
	}
	if !strings.HasPrefix(e.Problems[0].String(), `x.toml:2:1: unknown key "appliance.k0"`) {
		t.Fatalf("first problem %q", e.Problems[0])
	}
}

// BenchmarkDecodeUnknownKeys measures decoding a file of n unknown keys; per key it
// must stay flat as n grows (it was quadratic).
func BenchmarkDecodeUnknownKeys(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		var sb strings.Builder
		sb.WriteString("[appliance]\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, "k%d = 1\n", i)
		}
		doc := []byte(sb.String())
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, _ = Decode("x.toml", doc)
			}
		})
	}
}

// TestConfigFIFORefused: a FIFO as the config file or a drop-in blocked the reader
// until a writer came; it is refused at once.
func TestConfigFIFORefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgevoice.toml")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := LoadFiles(path); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("LoadFiles blocked on a FIFO for 10 s")
	}
}
