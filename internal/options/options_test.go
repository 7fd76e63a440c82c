package options

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testSpecs = []Spec{
	{Name: "overwrite", Type: Bool, Default: "false", Help: "accept a target with data"},
	{Name: "count", Type: Int, Default: "3", Help: "how many"},
	{Name: "image_size", Type: Size, Default: "0", Help: "size of a new image file"},
	{Name: "label", Type: String, Default: "drd", Help: "a label"},
	{Name: "exclude", Type: List, Help: "left out; repeat for more"},
	{Name: "mode", Type: String, Default: "auto", Help: "how", Choices: []string{"auto", "always", "never"}},
	{Name: "tries", Type: Int, Default: "2", Help: "1 to 9", Min: 1, Max: 9},
	{Name: "timeout", Type: Duration, Default: "5m", Help: "how long"},
}

// want is what a test expects of the values; nil fields are not checked.
type want struct {
	overwrite *bool
	count     *int64
	size      *int64
	label     *string
	exclude   []string // checked when excludeSet
	checkList bool
}

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		cmdline []string
		file    string
		conf    string // drd.conf
		want    want
		err     string // substring of the error; "" for success
	}{
		{name: "defaults", want: want{overwrite: ptr(false), count: ptr(int64(3)), size: ptr(int64(0)), label: ptr("drd"), checkList: true}},
		{name: "command line", cmdline: []string{"overwrite=true", "count=-7", "image_size=8G", "label=a b", "exclude=/var/tmp", "exclude=/srv"},
			want: want{overwrite: ptr(true), count: ptr(int64(-7)), size: ptr(int64(8 << 30)), label: ptr("a b"), exclude: []string{"/var/tmp", "/srv"}, checkList: true}},
		{name: "bare bool is true", cmdline: []string{"overwrite"}, want: want{overwrite: ptr(true)}},
		{name: "bool words", cmdline: []string{"overwrite=YES"}, want: want{overwrite: ptr(true)}},
		{name: "last scalar wins", cmdline: []string{"count=1", "count=2"}, want: want{count: ptr(int64(2))}},
		{name: "empty string", cmdline: []string{"label="}, want: want{label: ptr("")}},
		{name: "value with equals", cmdline: []string{"label=a=b"}, want: want{label: ptr("a=b")}},
		{name: "file", file: "# a comment\n\noverwrite = true\n  count=5   # trailing comment\nimage_size=500M\nexclude=/a\nexclude=/b\n",
			want: want{overwrite: ptr(true), count: ptr(int64(5)), size: ptr(int64(500 << 20)), exclude: []string{"/a", "/b"}, checkList: true}},
		{name: "continuation", file: "label=first \\\nsecond \\\nthird\ncount=\\\n42\n",
			want: want{label: ptr("first second third"), count: ptr(int64(42))}},
		{name: "CRLF file", file: "count=9\r\nlabel=x\r\n", want: want{count: ptr(int64(9)), label: ptr("x")}},
		{name: "hash inside a value", file: "label=a#b\n", want: want{label: ptr("a#b")}},
		{name: "command line wins", cmdline: []string{"count=1", "overwrite=false"}, file: "count=2\noverwrite=true\nlabel=file\n",
			want: want{count: ptr(int64(1)), overwrite: ptr(false), label: ptr("file")}},
		{name: "command line list replaces file list", cmdline: []string{"exclude=/c"}, file: "exclude=/a\nexclude=/b\n",
			want: want{exclude: []string{"/c"}, checkList: true}},
		{name: "empty list entry empties the file list", cmdline: []string{"exclude="}, file: "exclude=/a\n",
			want: want{exclude: []string{}, checkList: true}},
		{name: "file list kept without command line list", cmdline: []string{"count=1"}, file: "exclude=/a\n",
			want: want{exclude: []string{"/a"}, checkList: true}},

		{name: "unknown option", cmdline: []string{"bogus=1"}, err: `unknown option "bogus" (in "bogus=1")`},
		{name: "bad bool", cmdline: []string{"overwrite=maybe"}, err: `option overwrite: invalid bool "maybe"`},
		{name: "bad int", cmdline: []string{"count=3x"}, err: `option count: invalid int "3x"`},
		{name: "bad size", cmdline: []string{"image_size=8Q"}, err: `option image_size: invalid size "8Q"`},
		{name: "negative size", cmdline: []string{"image_size=-1G"}, err: `option image_size: invalid size "-1G"`},
		{name: "missing value", cmdline: []string{"count"}, err: "option count needs a value: count=VALUE"},
		{name: "missing name", cmdline: []string{"=5"}, err: `"=5": want name=value`},
		{name: "file: malformed line", file: "count=1\n\nnot an option line\n", err: `line 3: "not an option line": want name=value`},
		{name: "file: unknown option", file: "# c\nbogus=1\n", err: `line 2: unknown option "bogus"`},
		{name: "file: bad value after continuation", file: "count=1\nimage_size=\\\n8Q\ncount=2\n", err: `line 2: option image_size: invalid size "8Q"`},
		{name: "file: continuation at end", file: "count=1\nlabel=x\\\n", err: `line 2: "\" continues past the end of the file`},
		{name: "file error wins over command line", cmdline: []string{"count=1"}, file: "count=x\n", err: `line 1: option count: invalid int "x"`},
		{name: "bad choice", cmdline: []string{"mode=sometimes"}, err: `option mode: invalid value "sometimes": want auto, always or never`},
		{name: "int out of range", cmdline: []string{"tries=10"}, err: "option tries: 10 is out of range: want 1 to 9"},
		{name: "bad duration", cmdline: []string{"timeout=5 minutes"}, err: `option timeout: invalid duration "5 minutes"`},
		{name: "zero duration", cmdline: []string{"timeout=0s"}, err: `option timeout: invalid duration "0s"`},

		// drd.conf: below the -X file and the command line, above the built-in defaults.
		{name: "conf over built-in", conf: "clone.count=7\nclone.overwrite\nclone.exclude=/a\nclone.exclude=/b\nother.count=9\n",
			want: want{count: ptr(int64(7)), overwrite: ptr(true), label: ptr("drd"), exclude: []string{"/a", "/b"}, checkList: true}},
		{name: "file over conf", conf: "clone.count=7\nclone.label=conf\n", file: "count=8\n",
			want: want{count: ptr(int64(8)), label: ptr("conf")}},
		{name: "command line over conf", conf: "clone.overwrite=true\nclone.image_size=40G\n", cmdline: []string{"overwrite=false"},
			want: want{overwrite: ptr(false), size: ptr(int64(40 << 30))}},
		{name: "file list replaces conf list", conf: "clone.exclude=/a\n", file: "exclude=/b\n",
			want: want{exclude: []string{"/b"}, checkList: true}},
		{name: "command line empties conf list", conf: "clone.exclude=/a\n", cmdline: []string{"exclude="},
			want: want{exclude: []string{}, checkList: true}},
		{name: "other command's section ignored", conf: "other.count=9\n", want: want{count: ptr(int64(3))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var file []byte
			if tt.file != "" {
				file = []byte(tt.file)
			}
			conf, err := ParseConf([]byte(tt.conf), testCommands)
			if err != nil {
				t.Fatalf("ParseConf(%q): %v", tt.conf, err)
			}
			v, err := Parse(testSpecs, conf.For("clone"), tt.cmdline, file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse() error = %v, want one containing %q", err, tt.err)
				}
				var fe *FileError
				if inFile := strings.HasPrefix(tt.err, "line "); errors.As(err, &fe) != inFile {
					t.Errorf("Parse() error %v: is a *FileError: %v, want %v", err, !inFile, inFile)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(): %v", err)
			}
			w := tt.want
			if w.overwrite != nil && v.Bool("overwrite") != *w.overwrite {
				t.Errorf("overwrite = %v, want %v", v.Bool("overwrite"), *w.overwrite)
			}
			if w.count != nil && v.Int("count") != *w.count {
				t.Errorf("count = %v, want %v", v.Int("count"), *w.count)
			}
			if w.size != nil && v.Size("image_size") != *w.size {
				t.Errorf("image_size = %v, want %v", v.Size("image_size"), *w.size)
			}
			if w.label != nil && v.String("label") != *w.label {
				t.Errorf("label = %q, want %q", v.String("label"), *w.label)
			}
			if w.checkList && len(v.List("exclude"))+len(w.exclude) > 0 && !reflect.DeepEqual(v.List("exclude"), w.exclude) {
				t.Errorf("exclude = %q, want %q", v.List("exclude"), w.exclude)
			}
		})
	}
}

// testCommands are the commands of the drd.conf tests.
var testCommands = map[string][]Spec{
	"clone": testSpecs,
	"other": {{Name: "count", Type: Int, Default: "0"}, {Name: "tries", Type: Int, Default: "1", Min: 1, Max: 3}},
	// a subcommand (drd grp sub)
	"grp.sub": {{Name: "label", Type: String}},
}

func TestParseConf(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want map[string]map[string]Origin // by command, by option
		err  string                       // the whole error; "" for success
	}{
		{name: "empty", conf: "", want: map[string]map[string]Origin{"clone": {}, "other": {}}},
		{name: "comments, continuation, sections",
			conf: "# site defaults\nclone.overwrite=true   # wipe old clones\n\nclone.exclude=/var/tmp\nclone.image_size=\\\n  40G\nother.count = 5\nclone.exclude=/srv\n",
			want: map[string]map[string]Origin{
				"clone": {
					"overwrite":  {Values: []string{"true"}, Lines: []int{2}},
					"exclude":    {Values: []string{"/var/tmp", "/srv"}, Lines: []int{4, 8}},
					"image_size": {Values: []string{"40G"}, Lines: []int{5}},
				},
				"other": {"count": {Values: []string{"5"}, Lines: []int{7}}},
			}},
		{name: "subcommand", conf: "grp.sub.label=x.y\n", want: map[string]map[string]Origin{"grp.sub": {"label": {Values: []string{"x.y"}, Lines: []int{1}}}, "grp": {}}},
		{name: "bare bool", conf: "clone.overwrite\n", want: map[string]map[string]Origin{"clone": {"overwrite": {Values: []string{""}, Lines: []int{1}}}}},

		{name: "no command", conf: "# c\noverwrite=true\n", err: `line 2: "overwrite=true": want command.option=value, as clone.overwrite=true`},
		{name: "empty option", conf: "clone.=1\n", err: `line 1: "clone.=1": want command.option=value, as clone.overwrite=true`},
		{name: "unknown command", conf: "clon.overwrite=true\n", err: `line 1: "clon.overwrite=true": unknown command "clon": want one of clone, grp.sub or other`},
		{name: "group alone", conf: "grp.label=x\n", err: `line 1: "grp.label=x": unknown command "grp": want one of clone, grp.sub or other`},
		{name: "unknown option", conf: "clone.count=1\nclone.overwite=true\n", err: `line 2: unknown option "clone.overwite" (in "clone.overwite=true")`},
		{name: "option of another command", conf: "other.label=x\n", err: `line 1: unknown option "other.label" (in "other.label=x")`},
		{name: "bad value", conf: "clone.image_size=\\\n12 parsecs\n", err: `line 1: option clone.image_size: invalid size "12 parsecs": want a number and an optional unit K, M, G, T (as 8G or 500M)`},
		{name: "bad value in a section not read", conf: "other.tries=4\n", err: "line 1: option other.tries: 4 is out of range: want 1 to 3"},
		{name: "bad choice", conf: "clone.mode=sometimes\n", err: `line 1: option clone.mode: invalid value "sometimes": want auto, always or never`},
		{name: "missing value", conf: "clone.count\n", err: "line 1: option clone.count needs a value: clone.count=VALUE"},
		{name: "syntax", conf: "clone.count=1\nclone overwrite\n", err: `line 2: "clone overwrite": want name=value`},
		{name: "continuation at end", conf: "clone.label=x\\\n", err: `line 1: "\" continues past the end of the file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := ParseConf([]byte(tt.conf), testCommands)
			if tt.err != "" {
				var fe *FileError
				if err == nil || err.Error() != tt.err || !errors.As(err, &fe) {
					t.Fatalf("ParseConf() error = %v, want the *FileError %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConf(): %v", err)
			}
			for cmd, want := range tt.want {
				if got := conf.For(cmd).Set(); !reflect.DeepEqual(got, want) {
					t.Errorf("For(%s).Set() = %+v, want %+v", cmd, got, want)
				}
			}
		})
	}
}

func TestIsSet(t *testing.T) {
	v, err := Parse(testSpecs, Defaults{}, []string{"count=1"}, []byte("label=x\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"count": true, "label": true, "overwrite": false, "exclude": false} {
		if got := v.IsSet(name); got != want {
			t.Errorf("IsSet(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestBadSpecs(t *testing.T) {
	for _, specs := range [][]Spec{
		{{Name: "a", Type: Int, Default: "x"}},
		{{Name: "a", Type: Bool, Default: ""}},
		{{Name: "a", Type: String}, {Name: "a", Type: Int, Default: "0"}},
		{{Name: "", Type: String}},
	} {
		if _, err := Parse(specs, Defaults{}, nil, nil); err == nil {
			t.Errorf("Parse(%+v) accepted bad specs", specs)
		}
	}
}

func TestGetterMisusePanics(t *testing.T) {
	v, err := Parse(testSpecs, Defaults{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func(){
		"wrong type":   func() { v.Int("overwrite") },
		"undeclared":   func() { v.Bool("nope") },
		"size as int":  func() { v.Int("image_size") },
		"IsSet undecl": func() { v.IsSet("nope") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			get()
		}()
	}
}

func TestListIsACopy(t *testing.T) {
	v, err := Parse(testSpecs, Defaults{}, []string{"exclude=/a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v.List("exclude")[0] = "changed"
	if got := v.List("exclude"); got[0] != "/a" {
		t.Errorf("List returned the values' own slice: now %q", got)
	}
}

func TestWantsHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-?"}, true},
		{[]string{"?"}, true},
		{[]string{"overwrite=true", "?"}, true},
		{[]string{"label=?"}, false},
	} {
		if got := WantsHelp(tt.args); got != tt.want {
			t.Errorf("WantsHelp(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestHelp(t *testing.T) {
	got := Help(testSpecs, Defaults{})
	want := `  OPTION      TYPE      DEFAULT  DESCRIPTION
  count       int       3        how many
  exclude     list      ""       left out; repeat for more
  image_size  size      0        size of a new image file
  label       string    drd      a label
  mode        string    auto     how
  overwrite   bool      false    accept a target with data
  timeout     duration  5m       how long
  tries       int       2        1 to 9
`
	if got != want {
		t.Errorf("Help() =\n%s\nwant\n%s", got, want)
	}
	conf, err := ParseConf([]byte("clone.count=4\nclone.count=5\nclone.exclude=/a\nclone.exclude=\nclone.exclude=/b\nclone.label=\n"), testCommands)
	if err != nil {
		t.Fatal(err)
	}
	got = Help(testSpecs[:5], conf.For("clone"))
	want = `  OPTION      TYPE    DEFAULT                          DESCRIPTION
  count       int     5 (drd.conf line 2)              how many
  exclude     list    /a, /b (drd.conf lines 3, 4, 5)  left out; repeat for more
  image_size  size    0                                size of a new image file
  label       string  "" (drd.conf line 6)             a label
  overwrite   bool    false                            accept a target with data
`
	if got != want {
		t.Errorf("Help() with drd.conf =\n%s\nwant\n%s", got, want)
	}
}
