package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/weftio/weft"
)

// stdin is where passwords are read (tests replace it).
var stdin io.Reader = os.Stdin

// readPassword reads a password: with a prompt and no echo on a terminal
// (twice, to catch typos), else the first line of stdin. Never an argument:
// arguments end up in shell history and ps.
func readPassword(prompt string, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", weft.Errorf(weft.EInvalid, "read password: %v", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", weft.Errorf(weft.EInvalid, "read password: %v", err)
		}
		if string(a) != string(b) {
			return "", weft.Errorf(weft.EInvalid, "the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, 4096), 4096).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", weft.Errorf(weft.EInvalid, "read password from stdin: %v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", weft.Errorf(weft.EInvalid, "no password on stdin (pipe it in, e.g. weft users create ada < pwfile)")
	}
	return pw, nil
}

const usersUsage = "weft users create NAME [--role viewer] [--namespace default] | list | disable NAME | reset-password NAME | role NAME ROLE [--namespace default]"

func usersCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", usersUsage)
	}
	fs, srv, asJSON := newFlagSet("users " + args[0])
	role := fs.String("role", "viewer", "admin, editor, operator, viewer or agent")
	ns := fs.String("namespace", "default", `the namespace the role applies in ("*": all)`)
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	one := func() (string, error) {
		if len(pos) != 1 {
			return "", weft.Errorf(weft.EInvalid, "%s", usersUsage)
		}
		return pos[0], nil
	}
	switch args[0] {
	case "list":
		return c.listRoles("/api/users", "users", "roles", col{"NAME", "name"}, col{"SOURCE", "source"}, col{"ROLES", "roles"}, col{"DISABLED", "disabled"}, col{"CREATED", "created_at"})
	case "create":
		name, err := one()
		if err != nil {
			return err
		}
		pw, err := readPassword("Password for "+name+": ", stderr)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"name": name, "password": pw, "role": *role, "namespace": *ns})
		var res map[string]any
		if err := c.do("POST", "/api/users", body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "user %s created: %s in namespace %s\n", name, *role, *ns)
		return nil
	case "disable":
		name, err := one()
		if err != nil {
			return err
		}
		if err := c.do("POST", "/api/users/"+url.PathEscape(name)+"/disable", []byte("{}"), nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s disabled (its sessions and tokens stop working now)\n", name)
		return nil
	case "reset-password":
		name, err := one()
		if err != nil {
			return err
		}
		pw, err := readPassword("New password for "+name+": ", stderr)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"password": pw})
		if err := c.do("POST", "/api/users/"+url.PathEscape(name)+"/password", body, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s reset\n", name)
		return nil
	case "role":
		if len(pos) != 2 {
			return weft.Errorf(weft.EInvalid, "%s", usersUsage)
		}
		body, _ := json.Marshal(map[string]string{"role": pos[1]})
		if err := c.do("PUT", "/api/users/"+url.PathEscape(pos[0])+"/roles/"+url.PathEscape(*ns), body, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s: %s in namespace %s\n", pos[0], pos[1], *ns)
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft users: unknown verb %q (%s)", args[0], usersUsage)
}

const saUsage = "weft service-accounts create NAME --role ROLE [--namespace default] [--days 366] | list | revoke ID"

func serviceAccountsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", saUsage)
	}
	fs, srv, asJSON := newFlagSet("service-accounts " + args[0])
	role := fs.String("role", "", "admin, editor, operator, viewer or agent")
	ns := fs.String("namespace", "default", `the namespace the role applies in ("*": all)`)
	days := fs.Int("days", 0, "expiry in days (0: 366, the longest)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	switch args[0] {
	case "list":
		return c.listRoles("/api/service-accounts", "tokens", "scopes", col{"ID", "id"}, col{"NAME", "name"}, col{"SCOPES", "scopes"}, col{"EXPIRES", "expires_at"}, col{"REVOKED", "revoked_at"})
	case "create":
		if len(pos) != 1 || *role == "" {
			return weft.Errorf(weft.EInvalid, "%s", saUsage)
		}
		body, _ := json.Marshal(map[string]any{"name": pos[0], "scopes": map[string]string{*ns: *role}, "expires_in_days": *days})
		var res map[string]any
		if err := c.do("POST", "/api/service-accounts", body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "service account %s (%s) created: %s in namespace %s, expires %s.\nToken (shown once; use it as a bearer token):\n%s\n",
			str(res["name"]), str(res["id"]), *role, *ns, str(res["expires_at"]), str(res["token"]))
		return nil
	case "revoke":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "%s", saUsage)
		}
		if err := c.do("DELETE", "/api/service-accounts/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "service account token %s revoked\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft service-accounts: unknown verb %q (%s)", args[0], saUsage)
}

// listRoles is list for objects with a role per namespace (field mf),
// printed as namespace=role pairs.
func (c *client) listRoles(path, field, mf string, cols ...col) error {
	return c.listRows(path, field, func(m map[string]any) {
		if roles, ok := m[mf].(map[string]any); ok {
			pairs := make([]string, 0, len(roles))
			for ns, r := range roles {
				pairs = append(pairs, ns+"="+str(r))
			}
			sort.Strings(pairs)
			m[mf] = strings.Join(pairs, ",")
		}
	}, cols...)
}
