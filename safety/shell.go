package safety

import (
	"path"
	"strings"
)

// Cmd is one simple command of a shell line, as the rules see it: its
// program (base name), its words, and the files it writes to.
type Cmd struct {
	Prog       string   // program as written: "/etc/init.d/ssh"
	Name       string   // its base name: "ssh"
	Args       []string // the words after it, quotes removed
	Writes     []string // redirection targets, dd of=, tee and cp/install/mv destinations
	Background bool     // ended by a single & (left running)
}

// arg reports whether one of c's words matches f.
func (c Cmd) arg(f func(string) bool) bool {
	for _, a := range c.Args {
		if f(a) {
			return true
		}
	}
	return false
}

// hasWord reports whether c has one of the words.
func (c Cmd) hasWord(words ...string) bool {
	return c.arg(func(a string) bool {
		for _, w := range words {
			if a == w || strings.HasPrefix(a, w+"=") {
				return true
			}
		}
		return false
	})
}

// firstWord is c's first word that is not an option ("" if none).
func (c Cmd) firstWord() string {
	for _, a := range c.Args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// keywords are shell words that come before a command without being one.
var keywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "do": true, "while": true,
	"until": true, "!": true, "{": true, "exec": true, "sudo": true, "nohup": true, "time": true, "command": true,
	"env": true, "setsid": true, "nice": true, "ionice": true}

// SplitLine cuts one line of a shell script into its simple commands: at
// ; & && | || ( ) $( and backquotes, outside quotes, and up to a comment.
// It is a reading for the rules, not a shell: good enough for the lines
// maintainer scripts have.
func SplitLine(line string) []Cmd {
	var cmds []Cmd
	var words []string
	var word strings.Builder
	inWord := false
	var quote byte
	flushWord := func() {
		if inWord {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	flush := func(bg bool) {
		flushWord()
		if c, ok := makeCmd(words); ok {
			c.Background = bg
			cmds = append(cmds, c)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote == '"' && ch == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0:
			i++
			word.WriteByte(line[i])
			continue
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				word.WriteByte(ch)
			}
			continue
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case ch == '#' && !inWord:
			flush(false)
			return cmds
		case ch == ' ' || ch == '\t':
			flushWord()
		case ch == ';' || ch == '|' || ch == '(' || ch == ')' || ch == '`':
			flush(false)
			if ch == '|' && i+1 < len(line) && line[i+1] == '|' {
				i++
			}
		case ch == '&':
			if i+1 < len(line) && line[i+1] == '&' {
				flush(false)
				i++
			} else if i > 0 && line[i-1] == '>' || i+1 < len(line) && line[i+1] == '>' {
				word.WriteByte(ch) // 2>&1, &>file
				inWord = true
			} else {
				flush(true)
			}
		case ch == '$' && i+1 < len(line) && line[i+1] == '(':
			flush(false)
			i++
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	flush(false)
	return cmds
}

// makeCmd makes a Cmd of the words of one simple command: leading
// keywords and VAR=value assignments are skipped, redirections taken out.
func makeCmd(words []string) (Cmd, bool) {
	var c Cmd
	i := 0
	for ; i < len(words); i++ {
		w := words[i]
		if keywords[w] || (strings.Contains(w, "=") && !strings.HasPrefix(w, "=") && isName(w[:strings.Index(w, "=")])) {
			continue
		}
		if w == "-u" && i > 0 && words[i-1] == "sudo" {
			i++
			continue
		}
		break
	}
	for ; i < len(words); i++ {
		w := words[i]
		if t, ok := redirect(w); ok {
			if t == "" && i+1 < len(words) {
				i++
				t = words[i]
			}
			if t != "" && !strings.HasPrefix(t, "&") {
				c.Writes = append(c.Writes, t)
			}
			continue
		}
		if c.Name == "" {
			c.Prog, c.Name = w, path.Base(w)
			continue
		}
		c.Args = append(c.Args, w)
	}
	if c.Name == "" {
		return c, false
	}
	switch c.Name {
	case "dd":
		for _, a := range c.Args {
			if t, ok := strings.CutPrefix(a, "of="); ok {
				c.Writes = append(c.Writes, t)
			}
		}
	case "tee":
		for _, a := range c.Args {
			if !strings.HasPrefix(a, "-") {
				c.Writes = append(c.Writes, a)
			}
		}
	case "cp", "mv", "install", "ln":
		if n := len(c.Args); n >= 2 {
			c.Writes = append(c.Writes, c.Args[n-1])
		}
	}
	return c, true
}

// redirect reads an output redirection word (>f, >>f, 2>f, &>f, > then
// the next word): the target, ok true.
func redirect(w string) (string, bool) {
	w = strings.TrimLeft(w, "0123456789&")
	if !strings.HasPrefix(w, ">") {
		return "", false
	}
	w = strings.TrimPrefix(strings.TrimPrefix(w, ">"), ">")
	w = strings.TrimPrefix(w, "|")
	return w, true
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
