package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// secretKeyRe matches the names of keys that hold secrets; keys naming a file, path,
// socket, URL or environment variable that holds one do not.
var (
	secretKeyRe    = regexp.MustCompile(`(?i)(^|_)(key|api_key|secret|token|password|credential|bearer)$`)
	notSecretKeyRe = regexp.MustCompile(`(?i)(_file|_path|_socket|_url|_env|_dir)$`)
)

// IsSecretField reports whether a field must be masked when the config is printed: it
// has the tag secret:"true", or its key names a secret.
func IsSecretField(f reflect.StructField) bool {
	if f.Tag.Get("secret") == "true" {
		return true
	}
	n := TOMLName(f)
	return secretKeyRe.MatchString(n) && !notSecretKeyRe.MatchString(n)
}

// Masked returns a copy of c with every secret string replaced by its mask.
func (c *Config) Masked() *Config {
	cp := *c
	maskValue(reflect.ValueOf(&cp).Elem())
	return &cp
}

func maskValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if IsSecretField(f) {
				switch fv.Kind() {
				case reflect.String:
					if fv.String() != "" {
						fv.SetString(MaskSecret(fv.String()))
					}
					continue
				case reflect.Slice:
					if fv.Type().Elem().Kind() == reflect.String {
						cp := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
						for j := 0; j < fv.Len(); j++ {
							cp.Index(j).SetString(MaskSecret(fv.Index(j).String()))
						}
						fv.Set(cp)
						continue
					}
				}
			}
			if fv.Kind() == reflect.String && strings.HasSuffix(TOMLName(f), "_url") && fv.String() != "" {
				fv.SetString(MaskURL(fv.String()))
				continue
			}
			maskValue(fv)
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		v.Set(cp) // do not mask the caller's backing array
		for j := 0; j < v.Len(); j++ {
			maskValue(v.Index(j))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			maskValue(e)
			cp.SetMapIndex(it.Key(), e)
		}
		v.Set(cp)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Type().Elem())
		e.Elem().Set(v.Elem())
		maskValue(e.Elem())
		v.Set(e)
	}
}

// Encode writes c as TOML (mask it first with Masked when it is for printing).
func Encode(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: toml encode: %w", err)
	}
	return buf.Bytes(), nil
}

// MaskSecret hides a secret for printing: a short prefix such as "ek_" and the length.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	prefix := ""
	if len(s) >= 12 && s[2] == '_' {
		prefix = s[:3]
	}
	return fmt.Sprintf("%s***(%d chars)", prefix, len(s))
}

// MaskURL hides what a URL may carry as a secret, for printing: the password of its
// user info and the value of every query parameter but api-version. A value that does
// not parse as a URL is masked whole.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return MaskSecret(s)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = "***"
		} else {
			for k, vs := range q {
				if k == "api-version" {
					continue
				}
				for i := range vs {
					vs[i] = "***"
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
