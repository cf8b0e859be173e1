package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// secretValueLimit is read from stdin at most; the server refuses values
// over 64 KiB with a clear message, so a little more is read to let it.
const secretValueLimit = 64<<10 + 2

func newSecretCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Short:   "Manage secrets ({{secrets.NAME}} in event KATA, verify blocks and scripts)",
		Aliases: []string{"secrets"},
	}
	cl.register(cmd)

	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Set a secret to the value read from stdin (one trailing newline is dropped)",
		Example: `  printf %s "$GITHUB_WEBHOOK_SECRET" | hookhost secret set github_hook
  hookhost secret set stripe_key < stripe.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			value, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), secretValueLimit))
			if err != nil {
				return fmt.Errorf("read the secret's value from stdin: %w", err)
			}
			value = trimNewline(value)
			if len(value) == 0 {
				return fmt.Errorf("no value on stdin: pipe the secret's value in, e.g. printf %%s \"$VALUE\" | hookhost secret set %s", args[0])
			}
			var raw json.RawMessage
			if err := c.do("PUT", "/api/v1/secrets/"+url.PathEscape(args[0]), "application/octet-stream", value, &raw); err != nil {
				return err
			}
			verb := "updated"
			if len(raw) > 0 { // 201 with the new secret's name; 204 when replaced
				verb = "created"
			}
			fmt.Fprintf(c.out, "secret %s %s\n", args[0], verb)
			return nil
		},
	}

	list := &cobra.Command{
		Use: "list", Short: "List the names of the secrets (values are never shown)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/secrets", []string{"NAME"}, func(res api.SecretList) [][]string {
				rows := make([][]string, 0, len(res.Secrets))
				for _, s := range res.Secrets {
					rows = append(rows, []string{s.Name})
				}
				return rows
			})
		},
	}

	cmd.AddCommand(set, list, newDeleteCmd(cl, "secret", "NAME", "Delete a secret", "/api/v1/secrets/"))
	return cmd
}

// trimNewline drops one trailing "\n" or "\r\n", as echo and editors add.
func trimNewline(b []byte) []byte {
	if b, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(b, []byte("\r"))
	}
	return b
}
