# A sandboxd that breaks the protocol.  The real sandboxd never does this on
# demand, so a fake worker (t/lib/Sbx/FakeWorker.pm) stands in: it answers
# each request with bytes a test chooses.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::FakeWorker;

my $sock = servroot() . '/fake-worker.sock';

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$sock;
        sandbox_api_key test-key-alice alice;
        sandbox_read_timeout 2s;
        sandbox_max_response_size 1m;
    }
END

# answers echo the request's id, as sandboxd does
sub answer {
    my ($header, $body) = @_;
    return sub { Sbx::FakeWorker::frame({ %$header, id => $_[0]{id} }, $body) };
}

sub with_worker {
    my ($reply, $name, $check) = @_;
    my $w = Sbx::FakeWorker->start($sock, $reply);
    my $r = api('GET', '/sessions');
    $w->stop;
    $check->($r);
}

my $ok_list = { ok => JSON::PP::true, result => { sessions => [] } };

with_worker(answer($ok_list), 'a well-formed frame', sub {
    is($_[0]{status}, 200, 'the fake worker itself works: 200');
});

with_worker(sub { Sbx::FakeWorker::frame({ %$ok_list, id => 'other' }) },
            'an answer to another request', sub {
    is($_[0]{status}, 502, 'an answer with another request id: 502');
});

with_worker(sub { Sbx::FakeWorker::frame({ id => '', ok => JSON::PP::false,
                  error => { code => 'busy', message => 'too many' } }) },
            'busy with an empty id', sub {
    is($_[0]{status}, 503, 'an error sandboxd could not tie to a request: 503');
});

with_worker(sub { "HTTP/1.1 200 OK\r\n\r\n" }, 'garbage', sub {
    is($_[0]{status}, 502, 'bytes that are not a frame: 502');
    is($_[0]{json}{error}{code}, 'worker_unavailable', 'as JSON');
});

with_worker(sub { my $f = answer($ok_list)->($_[0]); substr($f, 4, 1) = "\x02"; $f },
            'version 2', sub {
    is($_[0]{status}, 502, 'an unknown frame version: 502');
});

with_worker(sub { my $f = answer($ok_list)->($_[0]);
                  substr($f, 12, 4) = pack('N', 2 << 20); $f },
            'body over the limit', sub {
    is($_[0]{status}, 502, 'a body over sandbox_max_response_size: 502');
});

with_worker(sub { Sbx::FakeWorker::frame_raw('not json at all', '') },
            'header not JSON', sub {
    is($_[0]{status}, 502, 'a header that is not JSON: 502');
});

with_worker(answer({}),
            'header without ok', sub {
    is($_[0]{status}, 502, 'a header without "ok": 502');
});

with_worker(answer({ ok => JSON::PP::true, result => { sessions => 5 } }),
            'result of the wrong shape', sub {
    is($_[0]{status}, 502, 'a result of the wrong shape: 502');
});

with_worker(sub { substr(answer($ok_list)->($_[0]), 0, 20) },
            'truncated frame', sub {
    is($_[0]{status}, 502, 'a frame cut short by a close: 502');
});

my $t0 = Time::HiRes::time();
with_worker(sub { undef }, 'silence', sub {
    is($_[0]{status}, 504, 'a worker that never answers: 504');
    is($_[0]{json}{error}{code}, 'worker_timeout', 'as JSON');
});
ok(Time::HiRes::time() - $t0 < 5, 'after sandbox_read_timeout');

with_worker(answer({ ok => JSON::PP::false,
                     error => { code => 'store_unavailable',
                                message => 'redis: connection refused' } }),
            'an error frame', sub {
    is($_[0]{status}, 503, 'store_unavailable is 503');
    is($_[0]{json}{error}{code}, 'store_unavailable', 'code passed on');
    is($_[0]{json}{error}{message}, 'redis: connection refused',
       'message passed on');
});

done_testing();
