// kustomize-json renders a Kustomize directory the way `kubectl kustomize DIR` does, with the kustomize Go API
// pinned in go.mod (no kubectl or kustomize package in Debian 12), and prints the resources as one JSON array,
// so that the Python tests need no YAML parser. It also turns YAML into JSON for the config files the
// ConfigMaps carry.
//
//	kustomize-json build DIR      the rendered resources of the kustomization in DIR, as a JSON array
//	kustomize-json yaml2json      the YAML document on stdin, as JSON
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kustomize-json build DIR | kustomize-json yaml2json < FILE")
	os.Exit(2)
}

func build(dir string) error {
	// the defaults of `kubectl kustomize`: load restrictions on (no files from outside the kustomization's tree),
	// no plugins, no Helm
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return err
	}
	out := make([]map[string]interface{}, 0, resMap.Size())
	for _, r := range resMap.Resources() {
		m, err := r.Map()
		if err != nil {
			return err
		}
		out = append(out, m)
	}
	return writeJSON(out)
}

func yaml2json() error {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var v interface{}
	if err := yaml.Unmarshal(in, &v); err != nil {
		return err
	}
	return writeJSON(v)
}

func writeJSON(v interface{}) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		if len(os.Args) != 3 {
			usage()
		}
		err = build(os.Args[2])
	case "yaml2json":
		if len(os.Args) != 2 {
			usage()
		}
		err = yaml2json()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-json: %v\n", err)
		os.Exit(1)
	}
}
