package dockerenv

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"time"
)

// rootfs writes a container's file system as a tar stream, for docker
// import: directories, files, symlinks, and programs with the shared
// libraries they load.
type rootfs struct {
	tw   *tar.Writer
	seen map[string]bool
}

func newRootfs(w io.Writer) *rootfs {
	return &rootfs{tw: tar.NewWriter(w), seen: map[string]bool{}}
}

func (r *rootfs) close() error { return r.tw.Close() }

var epoch = time.Unix(0, 0)

// dir adds a directory (and its parents), owned by uid.
func (r *rootfs) dir(name string, mode int64, uid int) error {
	name = path.Clean("/" + name)
	if name == "/" || r.seen[name] {
		return nil
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	return r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name[1:] + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: epoch})
}

// file adds a file with content data.
func (r *rootfs) file(name string, data []byte, mode int64) error {
	name = path.Clean("/" + name)
	if r.seen[name] {
		return nil
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name[1:], Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := r.tw.Write(data)
	return err
}

// copy adds the host's file src (symlinks followed) as name.
func (r *rootfs) copy(src, name string) error {
	name = path.Clean("/" + name)
	if r.seen[name] {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name[1:], Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: epoch}); err != nil {
		return err
	}
	_, err = io.Copy(r.tw, f)
	return err
}

// symlink adds name pointing to target.
func (r *rootfs) symlink(name, target string) error {
	name = path.Clean("/" + name)
	if r.seen[name] {
		return nil
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	return r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name[1:], Linkname: target, Mode: 0o777, ModTime: epoch})
}

// tree adds the host's directory src as name, with everything in it.
func (r *rootfs) tree(src, name string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(name, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return r.dir(target, 0o755, 0)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return r.symlink(target, link)
		case d.Type().IsRegular():
			return r.copy(p, target)
		}
		return nil // sockets and devices: none in a toolchain
	})
}

// program adds the host's executable src as name, and, if it is linked
// dynamically, the shared libraries it loads, at the paths the host's
// dynamic loader finds them (ldd), which the same loader finds in the image.
func (r *rootfs) program(src, name string) error {
	if err := r.copy(src, name); err != nil {
		return err
	}
	libs, err := sharedLibraries(src)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if err := r.copy(lib, lib); err != nil {
			return err
		}
	}
	return nil
}

// Static reports whether the executable at path needs no dynamic loader.
func Static(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

var lddLine = regexp.MustCompile(`(?m)^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$`)

// sharedLibraries lists what ldd says path loads (loader included), or
// nothing for a static executable.
func sharedLibraries(path string) ([]string, error) {
	static, err := Static(path)
	if err != nil || static {
		return nil, err
	}
	out, err := exec.Command("ldd", path).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", path, err)
	}
	return parseLdd(out), nil
}

func parseLdd(out []byte) []string {
	var libs []string
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		if m := lddLine.FindStringSubmatch(scanner.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs
}
