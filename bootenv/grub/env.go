package grub

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// GRUB's environment block: what load_env reads and save_env writes in
// place. A header line, name=value lines, and '#' up to exactly EnvSize
// bytes; save_env can only rewrite a block of that size, never grow it.
const (
	EnvSize   = 1024
	envHeader = "# GRUB Environment Block\n"
)

// ErrEnvFull is returned when the variables do not fit in one block.
var ErrEnvFull = errors.New("the variables do not fit in a 1024-byte GRUB environment block")

// Var is one variable of an environment block.
type Var struct{ Name, Value string }

// Env is a GRUB environment block as a value: its variables in order.
type Env []Var

// Get returns the value of name and whether it is set.
func (e Env) Get(name string) (string, bool) {
	for _, v := range e {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// Set sets name to value, in place if it is set already, else at the end.
func (e Env) Set(name, value string) Env {
	for i, v := range e {
		if v.Name == name {
			e[i].Value = value
			return e
		}
	}
	return append(e, Var{name, value})
}

// DecodeEnv reads a block as GRUB does (grub-core/lib/envblk.c): the
// header, then name=value lines, '\' escaping the next character; lines
// starting with '#' are padding or comments.
func DecodeEnv(b []byte) (Env, error) {
	if len(b) != EnvSize {
		return nil, fmt.Errorf("a GRUB environment block is %d bytes, this one %d", EnvSize, len(b))
	}
	if !bytes.HasPrefix(b, []byte(envHeader)) {
		return nil, errors.New("not a GRUB environment block: no header line")
	}
	var env Env
	rest := b[len(envHeader):]
	for len(rest) > 0 {
		if rest[0] == '#' {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			continue
		}
		var line []byte
		esc := false
		i := 0
		for ; i < len(rest); i++ {
			c := rest[i]
			if esc {
				line = append(line, c)
				esc = false
				continue
			}
			if c == '\\' {
				esc = true
				continue
			}
			if c == '\n' {
				break
			}
			line = append(line, c)
		}
		if i == len(rest) {
			return nil, errors.New("damaged GRUB environment block: a variable line runs to the end")
		}
		rest = rest[i+1:]
		name, value, ok := strings.Cut(string(line), "=")
		if !ok || name == "" {
			continue // GRUB skips such lines too
		}
		env = env.Set(name, value)
	}
	return env, nil
}

// Encode writes the block: exactly EnvSize bytes.
func (e Env) Encode() ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(envHeader)
	for _, v := range e {
		b.WriteString(v.Name)
		b.WriteByte('=')
		for _, c := range []byte(v.Value) {
			if c == '\\' || c == '\n' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	if b.Len() > EnvSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEnvFull, b.Len())
	}
	b.Write(bytes.Repeat([]byte{'#'}, EnvSize-b.Len()))
	return b.Bytes(), nil
}

// validate refuses names GRUB could not read back.
func (e Env) validate() error {
	seen := map[string]bool{}
	for _, v := range e {
		if v.Name == "" || strings.ContainsAny(v.Name, "=\n\\#") {
			return fmt.Errorf("GRUB environment variable name %q: want letters, digits and _", v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("GRUB environment variable %s set twice", v.Name)
		}
		seen[v.Name] = true
	}
	return nil
}
