# The workspace API: /sessions/{id}/workspace[/content].  Round trips of
# text and every byte value, listing, deletion, the size cap, bodies nginx
# keeps in a temporary file, and safety: traversal in every encoding,
# symlinks out of /workspace (also while the sandbox swaps them in a tight
# loop), FIFOs, other users' sessions.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use MIME::Base64 qw(encode_base64 decode_base64);
use Time::HiRes qw(time);

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
        client_max_body_size 4m;
        client_body_buffer_size 1k;
    }

    location /small/ {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        sandbox_workspace_max_file_size 1k;
    }
END

my $sid = "t055-$$-" . int(time);
my $ws = "/sessions/$sid/workspace";

is(api('POST', '/sessions', { session_id => $sid })->{status}, 201,
   'a session');

sub put_raw {
    my ($path, $bytes, %opt) = @_;
    my $prefix = delete $opt{prefix} // '';
    return api('PUT', "$prefix$ws/content?path=" . uri_escape($path), $bytes,
               headers => { 'Content-Type' => 'application/octet-stream' },
               %opt);
}

sub get_content {
    my ($path, %opt) = @_;
    my $prefix = delete $opt{prefix} // '';
    return api('GET', "$prefix$ws/content?path=" . uri_escape($path), undef,
               %opt);
}

sub sh {
    my ($command) = @_;
    return api('POST', '/execute', { command => $command,
                                     session_id => $sid })->{json};
}

# ------------------------------------------------------------- round trips

my $r = put_raw('notes/hello.txt', "hello\n");
is($r->{status}, 200, 'PUT raw bytes');
is_deeply($r->{json}, { path => 'notes/hello.txt', size => 6 },
          'answers the path and the size');
is(sh('cat /workspace/notes/hello.txt')->{stdout}, "hello\n",
   'the file is in the sandbox, its parent made');

$r = get_content('notes/hello.txt');
is($r->{json}{content}, "hello\n", 'GET content');
is($r->{json}{encoding}, 'utf8', 'as UTF-8');
is($r->{json}{size}, 6, 'with its size');

my $all = join '', map { chr } 0 .. 255;
$r = api('PUT', "$ws/content?path=bin/all.bin",
         { content => encode_base64($all, ''), encoding => 'base64' });
is($r->{json}{size}, 256, 'PUT JSON base64: every byte value');
$r = get_content('bin/all.bin');
is($r->{json}{encoding}, 'base64', 'read back as base64');
is(decode_base64($r->{json}{content}), $all, 'byte for byte');
$r = get_content('bin/all.bin',
                 headers => { Accept => 'application/octet-stream' });
is($r->{headers}{'content-type'}, 'application/octet-stream',
   'Accept: application/octet-stream gets the raw bytes');
is($r->{body}, $all, 'byte for byte');

$r = api('PUT', "$ws/content?path=text.txt", { content => "caf\x{e9}\n" });
is($r->{json}{size}, 6, 'PUT JSON text: UTF-8 bytes');
is(get_content('text.txt')->{json}{content}, "caf\x{e9}\n",
   'read back as the same text');

$r = api('PUT', "$ws/content?path=empty", '',
         headers => { 'Content-Type' => 'application/octet-stream' });
is($r->{json}{size}, 0, 'an empty file');
is(get_content('empty')->{json}{content}, '', 'reads back empty');

my $big = join '', map { chr(($_ * 7) % 256) } 1 .. 300_000;
$r = put_raw('big.bin', $big);
is($r->{json}{size}, 300_000,
   'a body over client_body_buffer_size (nginx keeps it in a file)');
is(get_content('big.bin', headers => { Accept => 'application/octet-stream' })
       ->{body}, $big, 'and it arrives whole');

is(put_raw('notes/hello.txt', "changed\n")->{status}, 200, 'overwrite');
is(get_content('notes/hello.txt')->{json}{content}, "changed\n",
   'the new content');

# ---------------------------------------------------------------- listing

$r = api('GET', $ws);
is($r->{status}, 200, 'list /workspace');
my %e = map { $_->{name} => $_ } @{ $r->{json}{entries} };
is($e{notes}{type}, 'dir', 'a directory');
is($e{'big.bin'}{type}, 'file', 'a file');
is($e{'big.bin'}{size}, 300_000, 'its size');
like($e{'big.bin'}{mtime}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'its mtime, ISO 8601');
is($r->{json}{truncated}, JSON::PP::false, 'not truncated');

$r = api('GET', "$ws?path=notes");
is_deeply([map { $_->{name} } @{ $r->{json}{entries} }], ['hello.txt'],
          'list a subdirectory');

sh('ln -s notes/hello.txt inlink; ln -s notes indir');
$r = api('GET', $ws);
%e = map { $_->{name} => $_ } @{ $r->{json}{entries} };
is($e{inlink}{type}, 'symlink', 'a symlink is listed as one');
is(get_content('inlink')->{json}{content}, "changed\n",
   'a symlink inside the workspace is followed');
is(get_content('indir/hello.txt')->{json}{content}, "changed\n",
   'so is a symlinked directory inside it');

# --------------------------------------------------------------- deleting

is(api('DELETE', "$ws?path=notes/hello.txt")->{status}, 204, 'delete a file');
is(get_content('notes/hello.txt')->{status}, 404, 'it is gone');
sh('mkdir -p tree/a/b && touch tree/a/b/c tree/x');
is(api('DELETE', "$ws?path=tree")->{status}, 204,
   'delete a directory, recursively');
is(sh('ls -d tree 2>&1')->{exit_code}, 2, 'it is gone');
$r = api('DELETE', "$ws?path=no/such");
is($r->{status}, 404, 'deleting what is not there: 404');
is($r->{json}{error}{code}, 'not_found', 'not_found');

# ----------------------------------------------------------- bad paths: 400

for my $bad ('..', '../etc/passwd', '/etc/passwd', 'a/../../etc/passwd',
             'a//b', './a', 'a/.', 'a/', '', 'x' x 256, ('abc/' x 1024) . 'a')
{
    $r = get_content($bad);
    is($r->{status}, 400, "path '" . substr($bad, 0, 24) . "': 400");
}

for my $raw ('%2e%2e', '%2E%2E%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd',
             'a%00b', '..%2f..%2fetc')
{
    $r = api('GET', "$ws/content?path=$raw");
    is($r->{status}, 400, "path=$raw (URL-encoded): 400");
    is($r->{json}{error}{code}, 'invalid_request', '  invalid_request');
}

is(api('GET', "$ws/content")->{status}, 400, 'no path: 400');
is(api('DELETE', $ws)->{status}, 400, 'no path to delete: 400');
is(put_raw('..', 'x')->{status}, 400, 'PUT to ..: 400');

# ------------------------------------------------------- symlinks out: 400

sh('echo secret > /tmp/secret; echo victim > /tmp/victim; mkdir -p /tmp/dir;'
   . ' echo keep > /tmp/dir/keep;'
   . ' ln -s /tmp/secret out; ln -s /proc/1/root root1; ln -s .. up;'
   . ' ln -s /tmp outdir; ln -s /tmp/victim wlink; mkdir d;'
   . ' ln -s /tmp/dir d/link');

for my $case (['out', 'a symlink to a file outside'],
              ['root1/etc/passwd', 'through /proc/1/root'],
              ['up/tmp/secret', 'through ..'],
              ['outdir/secret', 'through a symlinked directory outside'])
{
    my ($path, $what) = @$case;
    $r = get_content($path);
    is($r->{status}, 400, "read $what: 400");
    like($r->{json}{error}{message}, qr/leads out of \/workspace/,
         '  says it leads out');
}

is(api('GET', "$ws?path=up")->{status}, 400, 'list through ..: 400');
is(api('GET', "$ws?path=outdir")->{status}, 400,
   'list a symlinked directory outside: 400');
is(put_raw('outdir/planted', 'x')->{status}, 400,
   'write through a symlinked directory outside: 400');
is(sh('ls /tmp/planted 2>&1')->{exit_code}, 2, 'nothing planted');

is(put_raw('wlink', "overwritten\n")->{status}, 200,
   'write to a symlink: the link is replaced');
is(sh('cat /tmp/victim')->{stdout}, "victim\n", 'not followed');
is(sh('test -L wlink || echo file')->{stdout}, "file\n",
   'wlink is now a file of its own');

is(api('DELETE', "$ws?path=out")->{status}, 204, 'delete a symlink');
is(api('DELETE', "$ws?path=d")->{status}, 204,
   'delete a tree with a symlink out');
is(sh('cat /tmp/secret /tmp/dir/keep')->{stdout}, "secret\nkeep\n",
   'nothing outside was touched');

# ---------------------------------------------------- the symlink-swap race

sh('mkdir -p real && echo public > real/f && mkdir -p /tmp/s'
   . ' && echo SECRET > /tmp/s/f && ln -sfn real race');
sh('rm -f /tmp/stop; (end=$(($(date +%s) + 30));'
   . ' while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ]; do'
   . ' ln -sfn /tmp/s race.new && mv -T race.new race;'
   . ' ln -sfn real race.new && mv -T race.new race; done)'
   . ' >/dev/null 2>&1 &');

my (%seen, $leak, $planted);
for my $i (1 .. 150) {
    $r = get_content('race/f');
    $seen{$r->{status}}++;
    $leak++ if ($r->{body} // '') =~ /SECRET/;
    put_raw("race/w$i", 'x');
}
$planted = sh('ls /tmp/s | grep -c "^w" || true')->{stdout};
sh('touch /tmp/stop');

ok(!$leak, 'a swapped symlink never reads outside (' . join(', ',
   map { "$_: $seen{$_}" } sort keys %seen) . ')');
is($planted, "0\n", 'and never writes outside');
ok($seen{200}, 'while reads through it work when it points inside');

# ------------------------------------------------------------- not files

sh('mkfifo fifo');
my $t0 = time;
$r = get_content('fifo');
is($r->{status}, 400, 'a FIFO: 400');
like($r->{json}{error}{message}, qr/not a regular file/, '  not a file');
ok(time - $t0 < 5, '  without hanging');
is(get_content('notes')->{status}, 400, 'a directory: 400');
is(get_content('big.bin/x')->{status}, 400,
   'a file as a directory: 400');
is(get_content('missing')->{status}, 404, 'a missing file: 404');

# -------------------------------------------------------------- size caps

$r = put_raw('capped', 'x' x 1025, prefix => '/small');
is($r->{status}, 413, 'over sandbox_workspace_max_file_size: 413');
is($r->{json}{error}{code}, 'too_large', 'too_large');
is(get_content('capped')->{status}, 404, 'and no file is left');
is(put_raw('capped', 'x' x 1024, prefix => '/small')->{status}, 200,
   'at the cap: written');
$r = get_content('big.bin', prefix => '/small');
is($r->{status}, 413, 'reading a file over the cap: 413');

# ---------------------------------------------------------------- uploads

sub upload {
    my ($query, $content, %opt) = @_;
    my $b = 'sbxBoundary' . int(rand(1e9));
    my $filename = $opt{filename} // 'up.bin';
    my $field = $opt{field} // 'file';
    my $prefix = $opt{prefix} // '';
    my $body = "--$b\r\nContent-Disposition: form-data; name=\"note\"\r\n"
               . "\r\nhello\r\n"
               . "--$b\r\nContent-Disposition: form-data; name=\"$field\"; "
               . "filename=\"$filename\"\r\n"
               . "Content-Type: application/octet-stream\r\n\r\n"
               . $content . "\r\n--$b--\r\n";
    return api('POST', "$prefix$ws/upload$query", $body,
               headers => { 'Content-Type' =>
                            "multipart/form-data; boundary=$b" });
}

my $payload = join '', map { chr(($_ * 13 + 5) % 256) } 1 .. 200_000;
$payload .= "\r\n--sbxBoundary"; # a near-boundary inside the content
$r = upload('?path=uploads/data.bin', $payload);
is($r->{status}, 201, 'a multipart upload over the in-memory buffer: 201');
is_deeply($r->{json}, { path => 'uploads/data.bin', session_id => $sid,
                        size => length $payload },
          'answers path, session and size');
is(get_content('uploads/data.bin',
               headers => { Accept => 'application/octet-stream' })->{body},
   $payload, 'every byte arrived');

$r = upload('', 'named', filename => 'C:\\Users\\me\\report.txt');
is($r->{json}{path}, 'report.txt',
   'without a path: the file name, without the client\'s path');
is(get_content('report.txt')->{json}{content}, 'named', 'written');
is(upload('', 'x', filename => '..')->{status}, 400,
   'a file name that is no path: 400');
is(upload('?path=../x', 'x')->{status}, 400, 'a bad path: 400');
$r = upload('?path=y', 'x', field => 'other');
is($r->{status}, 400, 'no "file" field: 400');
like($r->{json}{error}{message}, qr/"file"/, '  says so');
is(api('POST', "$ws/upload?path=y", 'abc',
       headers => { 'Content-Type' => 'text/plain' })->{status}, 400,
   'not multipart: 400');
is(upload('?path=capped2', 'x' x 1025, prefix => '/small')->{status}, 413,
   'an upload over the cap: 413');
is(get_content('capped2')->{status}, 404, 'and no file is left');

# -------------------------------------------------------------- ownership

is(get_content('text.txt', key => 'test-key-bob')->{status}, 404,
   "another user's session: 404");
is(api('GET', "/sessions/nope-$$/workspace")->{status}, 404,
   'no such session: 404');
is(api('GET', "$ws/content?path=text.txt", undef, key => undef)->{status},
   401, 'no credentials: 401');

api('DELETE', "/sessions/$sid");

done_testing();
