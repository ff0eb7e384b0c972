package main

import (
	"encoding/json"

	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/tools"
)

// addConfiguredTools adds the [[tools.command]] and [[tools.http]] tools of c to set.
// A tool without its own timeout gets [tools] timeout.
func addConfiguredTools(set *tools.Set, c *config.Tools) error {
	params := func(p string) json.RawMessage {
		if p == "" {
			return nil
		}
		return json.RawMessage(p)
	}
	timeout := func(d config.Duration) config.Duration {
		if d == 0 {
			return c.Timeout
		}
		return d
	}
	for _, t := range c.Command {
		tool, err := tools.CommandTool(tools.CommandSpec{Name: t.Name, Description: t.Description, Parameters: params(t.Parameters),
			Argv: t.Argv, Env: t.Env, Timeout: timeout(t.Timeout).D(), MaxOutput: t.MaxOutput})
		if err != nil {
			return err
		}
		if err := set.Add(tool); err != nil {
			return err
		}
	}
	for _, t := range c.HTTP {
		tool, err := tools.HTTPTool(tools.HTTPSpec{Name: t.Name, Description: t.Description, Parameters: params(t.Parameters),
			URL: t.URL, TokenFile: t.BearerTokenFile, CAFile: t.CAFile, Timeout: timeout(t.Timeout).D(), MaxOutput: t.MaxOutput})
		if err != nil {
			return err
		}
		if err := set.Add(tool); err != nil {
			return err
		}
	}
	return nil
}
