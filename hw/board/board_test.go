package board

import (
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"
)

type namedPin struct {
	gpio.PinIO
	n string
}

func (p namedPin) Name() string { return p.n }

func fakeSystem(pins []string, chips []string, openErr error) system {
	var all []gpio.PinIO
	for _, n := range pins {
		all = append(all, namedPin{gpio.INVALID, n})
	}
	return system{
		byName: func(n string) gpio.PinIO {
			for _, p := range all {
				if p.Name() == n {
					return p
				}
			}
			return nil
		},
		all:      func() []gpio.PinIO { return all },
		openSPI:  func(string) (spi.PortCloser, error) { return nil, errors.New("no SPI port") },
		spiNames: func() []string { return nil },
		glob: func(pat string) ([]string, error) {
			if strings.HasPrefix(pat, "/dev/gpiochip") {
				return chips, nil
			}
			if strings.HasPrefix(pat, "/dev/spidev") && openErr != nil {
				return []string{"/dev/spidev0.0"}, nil
			}
			return nil, nil
		},
		open: func(string) error { return openErr },
	}
}

func TestPinErrors(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		b := &Board{sys: fakeSystem([]string{"GPIO17", "GPIO27"}, []string{"/dev/gpiochip0"}, nil)}
		p, err := b.Pin("GPIO27")
		if err != nil || p.Name() != "GPIO27" {
			t.Fatalf("Pin(GPIO27) = %v, %v", p, err)
		}
	})
	t.Run("unknown lists pins", func(t *testing.T) {
		b := &Board{sys: fakeSystem([]string{"GPIO27", "GPIO17"}, []string{"/dev/gpiochip0"}, nil)}
		_, err := b.Pin("GPIO99")
		if err == nil || !strings.Contains(err.Error(), `pin "GPIO99" not found; pins that exist: GPIO17, GPIO27`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no gpio suggests sim", func(t *testing.T) {
		b := &Board{sys: fakeSystem(nil, nil, nil)}
		_, err := b.Pin("GPIO17")
		if !errors.Is(err, ErrNoGPIO) || !strings.Contains(err.Error(), `kind = "sim"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("permission names group", func(t *testing.T) {
		b := &Board{sys: fakeSystem(nil, []string{"/dev/gpiochip0"}, &fs.PathError{Op: "open", Path: "/dev/gpiochip0", Err: fs.ErrPermission})}
		_, err := b.Pin("GPIO17")
		if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), `"gpio" group`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("spi permission names group", func(t *testing.T) {
		b := &Board{sys: fakeSystem(nil, nil, &fs.PathError{Op: "open", Path: "/dev/spidev0.0", Err: fs.ErrPermission})}
		_, err := b.SPI("")
		if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), `"spi" group`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("empty name", func(t *testing.T) {
		b := &Board{sys: fakeSystem([]string{"GPIO17"}, nil, nil)}
		if _, err := b.Pin(""); err == nil {
			t.Fatal("Pin(\"\") succeeded")
		}
	})
}

// TestOpenHere runs the real host.Init on this machine. Without /dev/gpiochip* (CI,
// laptops) a pin lookup must say there is no GPIO and suggest the simulated board.
func TestOpenHere(t *testing.T) {
	b, err := Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if chips, _ := filepath.Glob("/dev/gpiochip*"); len(chips) != 0 {
		t.Skipf("this machine has GPIO (%v); covered by hwsmoketest", chips)
	}
	_, err = b.Pin("GPIO17")
	if !errors.Is(err, ErrNoGPIO) {
		t.Fatalf("Pin(GPIO17) on a machine without GPIO: err = %v, want ErrNoGPIO", err)
	}
	t.Logf("board: %s; error: %v", b, err)
}

// TestOnlyBoardImportsHost walks every .go file of the module and fails when a
// package other than hw/board imports periph.io/x/host.
func TestOnlyBoardImportsHost(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	self, _ := filepath.Abs(".")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return nil // a file being edited by someone else; the compiler reports it
		}
		dir, _ := filepath.Abs(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if (p == "periph.io/x/host/v3" || strings.HasPrefix(p, "periph.io/x/host/")) && dir != self {
				t.Errorf("%s imports %s: only hw/board may import periph.io/x/host", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("walked only %d .go files; the walk is broken", files)
	}
}
