package broker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// legacyRecord is one NAME.json file of the device directory brokers used before the
// database store.
type legacyRecord struct {
	Name        string    `json:"name"`
	TokenSHA256 string    `json:"token_sha256"`
	Created     time.Time `json:"created"`
	Disabled    bool      `json:"disabled"`
}

// ReadDeviceDir reads a legacy device directory (one NAME.json per device holding the
// SHA-256 of its token). A broken record is skipped with a problem naming its file, so
// one bad file never stops the others from being imported.
func ReadDeviceDir(dir string) (devs []Device, problems []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("broker: device directory: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: skipped: %v", path, err))
			continue
		}
		var r legacyRecord
		if err := json.Unmarshal(data, &r); err != nil {
			problems = append(problems, fmt.Sprintf("%s: skipped: not a device record (bad JSON)", path))
			continue
		}
		r.TokenSHA256 = strings.ToLower(r.TokenSHA256)
		switch {
		case checkName(r.Name) != nil:
			problems = append(problems, fmt.Sprintf("%s: skipped: bad or missing \"name\"", path))
			continue
		case r.Name+".json" != e.Name():
			problems = append(problems, fmt.Sprintf("%s: skipped: holds device %q, not %q", path, r.Name, strings.TrimSuffix(e.Name(), ".json")))
			continue
		case !validHash(r.TokenSHA256):
			problems = append(problems, fmt.Sprintf("%s: skipped: \"token_sha256\" is not 64 hex digits", path))
			continue
		}
		devs = append(devs, Device{Name: r.Name, TokenSHA256: r.TokenSHA256, Created: r.Created, Disabled: r.Disabled})
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Name < devs[j].Name })
	return devs, problems, nil
}
