// helm_render renders a Helm chart the way `helm template` does, for CI machines without
// Helm: Go templates with the Sprig functions plus Helm's own include, tpl, toYaml and
// required; values from values.yaml deep-merged with any -f files.
//
//	go run helm_render.go CHART_DIR [-f values.yaml ...] > manifests.yaml
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "helm_render: "+format+"\n", args...)
	os.Exit(1)
}

func readYaml(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		fail("%s: %v", path, err)
	}
	return out
}

// merge copies src over dst, recursing into maps present in both.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if sub, ok := v.(map[string]interface{}); ok {
			if existing, ok := dst[k].(map[string]interface{}); ok {
				merge(existing, sub)
				continue
			}
		}
		dst[k] = v
	}
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: helm_render CHART_DIR [-f values.yaml ...]")
	}
	chartDir := os.Args[1]
	chart := readYaml(filepath.Join(chartDir, "Chart.yaml"))
	values := readYaml(filepath.Join(chartDir, "values.yaml"))
	for i := 2; i < len(os.Args); i++ {
		if os.Args[i] == "-f" && i+1 < len(os.Args) {
			merge(values, readYaml(os.Args[i+1]))
			i++
		} else {
			fail("unexpected argument %q", os.Args[i])
		}
	}
	top := template.New("chart")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env") // Helm removes these: a chart must not read the renderer's environment
	delete(funcs, "expandenv")
	funcs["toYaml"] = func(v interface{}) string {
		var buf bytes.Buffer
		encoder := yaml.NewEncoder(&buf)
		encoder.SetIndent(2) // as Helm writes it
		if err := encoder.Encode(v); err != nil {
			fail("toYaml: %v", err)
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := top.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := top.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["required"] = func(message string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", message)
		}
		return v, nil
	}
	top.Funcs(funcs).Option("missingkey=zero")
	files, _ := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	sort.Strings(files)
	var rendered []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			fail("%v", err)
		}
		name := filepath.Join(chart["name"].(string), "templates", filepath.Base(file))
		if _, err := top.New(name).Parse(string(data)); err != nil {
			fail("%v", err)
		}
		if !strings.HasPrefix(filepath.Base(file), "_") && strings.HasSuffix(file, ".yaml") {
			rendered = append(rendered, name)
		}
	}
	chartValues := map[string]interface{}{
		"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"],
	}
	for _, name := range rendered {
		context := map[string]interface{}{
			"Values":   values,
			"Chart":    chartValues,
			"Release":  map[string]interface{}{"Name": "release", "Namespace": "default", "Service": "Helm", "IsInstall": true},
			"Template": map[string]interface{}{"Name": name, "BasePath": filepath.Join(chart["name"].(string), "templates")},
		}
		var buf bytes.Buffer
		if err := top.ExecuteTemplate(&buf, name, context); err != nil {
			fail("%v", err)
		}
		fmt.Printf("---\n# Source: %s\n%s\n", name, strings.TrimSpace(buf.String()))
	}
}
