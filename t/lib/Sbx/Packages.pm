package Sbx::Packages;

# Packages for the install tests, made here with core Perl alone: pip
# wheels, npm tarballs, and a small package index that serves both (the
# npm registry's packument and tarball URLs, pip's "simple" index, PEP
# 503).  The index is a real HTTP server on an address the install
# helper's Docker network reaches; it stands in for PyPI and the npm
# registry, which this machine cannot reach.

use strict;
use warnings;

use Archive::Tar;
use Digest::SHA qw(sha1_hex sha256 sha256_hex sha512);
use Exporter qw(import);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Compress::Zip qw(:zip_method $ZipError);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64 encode_base64url);
use POSIX ();

our @EXPORT_OK = qw(make_wheel npm_tarball start_index);

my $JSON = JSON::PP->new->canonical;


# make_wheel($dir, $name, $version, @requires): a pure-Python wheel whose
# module has VERSION and hello(), and a console script "<name>-hello"
# printing hello(); returns its path.
sub make_wheel {
    my ($dir, $name, $ver, @req) = @_;
    my $di = "$name-$ver.dist-info";
    my @files = (
        ["$name/__init__.py",
         "VERSION = '$ver'\n\ndef hello():\n    return 'hello from $name'\n\n"
         . "def main():\n    print(hello())\n"],
        ["$di/METADATA", "Metadata-Version: 2.1\nName: $name\n"
                         . "Version: $ver\nSummary: a test package\n"
                         . join('', map { "Requires-Dist: $_\n" } @req)],
        ["$di/WHEEL", "Wheel-Version: 1.0\nGenerator: Sbx::Packages\n"
                      . "Root-Is-Purelib: true\nTag: py3-none-any\n"],
        ["$di/entry_points.txt",
         "[console_scripts]\n$name-hello = $name:main\n"],
    );
    my $record = join '', map {
        sprintf "%s,sha256=%s,%d\n", $_->[0],
                encode_base64url(sha256($_->[1])), length $_->[1]
    } @files;
    push @files, ["$di/RECORD", "$record$di/RECORD,,\n"];

    my $out = "$dir/$name-$ver-py3-none-any.whl";
    my $z = IO::Compress::Zip->new($out, Name => $files[0][0],
                                   Method => ZIP_CM_DEFLATE, Minimal => 1)
        or die "zip: $ZipError";
    $z->print($files[0][1]);
    for my $f (@files[1 .. $#files]) {
        $z->newStream(Name => $f->[0]);
        $z->print($f->[1]);
    }
    $z->close;
    chmod 0644, $out;

    return $out;
}


# npm_tarball($name, $version, %opt): the .tgz of a package whose index.js
# exports hello() (naming each dependency it could require), with
# dependencies => {name => range}, scripts => {...}, bin => 1 (a
# "<name>-hello" command).  Returns the gzipped bytes.
sub npm_tarball {
    my ($name, $ver, %opt) = @_;
    my $deps = $opt{dependencies} // {};
    my $requires = join '', map { "require('$_'); " } sort keys %$deps;
    my %pkg = (name => $name, version => $ver, main => 'index.js',
               dependencies => $deps);

    $pkg{scripts} = $opt{scripts} if $opt{scripts};
    $pkg{bin} = { "$name-hello" => 'cli.js' } if $opt{bin};

    my $tar = Archive::Tar->new;
    $tar->add_data('package/package.json', $JSON->encode(\%pkg));
    $tar->add_data('package/index.js',
                   "${requires}exports.hello = () => 'hello from $name"
                   . (%$deps ? ', deps ok' : '') . "';\n");
    $tar->add_data('package/cli.js',
                   "#!/usr/bin/env node\n"
                   . "console.log(require('./index.js').hello());\n",
                   { mode => 0755 }) if $opt{bin};

    my $plain = $tar->write;
    my $gz;
    gzip(\$plain => \$gz) or die "gzip: $GzipError";

    return $gz;
}


# start_index($host, $wheels_dir, @npm): serves, on $host and a free port,
# each npm package of @npm ({name, version, tgz, dependencies?,
# scripts?, bin?}) at /<name> and its tarball at /tarballs/, and the
# wheels of $wheels_dir at /simple/<name>/; /slowpkg answers 404 after 8
# seconds, one request at a time.  Returns (base URL, pid); the
# caller kills the pid.  Each request is logged to $log when given.
sub start_index {
    my ($host, $wheels, $npm, $log) = @_;
    my $srv = IO::Socket::INET->new(LocalAddr => $host, LocalPort => 0,
                                    Listen => 16, ReuseAddr => 1)
        or die "index: listen on $host: $!";
    my $url = "http://$host:" . $srv->sockport;
    my %docs = _npm_documents($url, $npm);

    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        while (my $c = $srv->accept) {
            _serve($c, $url, $wheels, \%docs, $log);
            close $c;
        }
        POSIX::_exit(0);
    }

    close $srv;

    return ($url, $pid);
}


sub _npm_documents {
    my ($url, $npm) = @_;
    my %docs;

    for my $p (@$npm) {
        my $file = "$p->{name}-$p->{version}.tgz";
        my $v = {
            name => $p->{name}, version => $p->{version},
            dependencies => $p->{dependencies} // {},
            dist => {
                tarball => "$url/tarballs/$file",
                shasum => sha1_hex($p->{tgz}),
                integrity => 'sha512-' . encode_base64(sha512($p->{tgz}), ''),
            },
        };
        $v->{scripts} = $p->{scripts} if $p->{scripts};
        $v->{bin} = { "$p->{name}-hello" => 'cli.js' } if $p->{bin};

        my $doc = $docs{"/$p->{name}"} //= { name => $p->{name},
                                              versions => {} };
        $doc->{versions}{ $p->{version} } = $v;
        $doc->{'dist-tags'}{latest} = $p->{version};
        $docs{"/tarballs/$file"} = $p->{tgz};
    }

    return map {
        $_ => ref $docs{$_} ? ['application/json', $JSON->encode($docs{$_})]
                            : ['application/octet-stream', $docs{$_}]
    } keys %docs;
}


sub _serve {
    my ($c, $url, $wheels, $docs, $log) = @_;
    my $line = <$c> // return;
    my ($path) = $line =~ m{^GET (\S+)} or return _reply($c, 405);

    while (my $h = <$c>) {
        last if $h =~ /^\r?\n$/;
    }

    if ($log && open my $fh, '>>', $log) {
        print $fh "$path\n";
    }

    $path =~ s/%2f/\//gi;

    # a package whose metadata takes long: an install that can be caught
    # running
    if ($path eq '/slowpkg') {
        sleep 8;
        return _reply($c, 404);
    }

    return _reply($c, 200, @{ $docs->{$path} }) if $docs->{$path};

    if ($path =~ m{^/simple/([A-Za-z0-9._-]+)/?$}) {
        (my $want = lc $1) =~ s/[-_.]+/-/g;
        my @links;
        for my $w (sort glob "$wheels/*.whl") {
            my ($file) = $w =~ m{([^/]+)$};
            (my $name = lc((split /-/, $file)[0])) =~ s/[-_.]+/-/g;
            next unless $name eq $want;
            my $sum = do { open my $fh, '<:raw', $w; local $/; sha256_hex(<$fh>) };
            push @links, qq{<a href="$url/wheels/$file#sha256=$sum">$file</a>};
        }
        return _reply($c, 404) unless @links;
        return _reply($c, 200, 'text/html',
                      "<html><body>\n" . join("\n", @links) . "\n</body></html>\n");
    }

    if ($path =~ m{^/wheels/([A-Za-z0-9._-]+\.whl)$} && -f "$wheels/$1") {
        my $data = do { open my $fh, '<:raw', "$wheels/$1"; local $/; <$fh> };
        return _reply($c, 200, 'application/octet-stream', $data);
    }

    return _reply($c, 404);
}


sub _reply {
    my ($c, $status, $type, $body) = @_;
    $type //= 'application/json';
    $body //= '{"error":"Not found"}';

    print $c "HTTP/1.0 $status X\r\nContent-Type: $type\r\n"
             . "Content-Length: " . length($body) . "\r\nConnection: close"
             . "\r\n\r\n$body";
}


1;
