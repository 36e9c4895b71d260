# A key file is read with the configuration: "nginx -s reload" picks up
# added and removed keys without a restart.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use File::Temp qw(tempdir);

# outside the servroot, which the harness wipes when nginx first starts
my $file = tempdir(CLEANUP => 1) . '/api_keys';

sub write_keys {
    open my $fh, '>', $file or die "$file: $!";
    print {$fh} @_;
    close $fh;
    chmod 0644, $file;
}

my %conf = (config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:@{[ sbx_var("SBX_SOCKET") ]};
        sandbox_api_key_file $file;
    }
END

write_keys("# first generation\nold-key erin\n");
ok(start_nginx(%conf), 'nginx starts with the key file');

is(api('GET', '/sessions', undef, key => 'old-key')->{status}, 200,
   'the key in the file works');
is(api('GET', '/sessions', undef, key => 'new-key')->{status}, 401,
   'a key not yet in the file does not');

write_keys("# second generation\nnew-key erin\n");
ok(reload_nginx(%conf), 'nginx -s reload');

my $ok = 0;
for (1 .. 50) {
    last if ($ok = api('GET', '/sessions', undef, key => 'new-key')->{status}
                   == 200);
    Time::HiRes::sleep(0.1);
}
ok($ok, 'the added key works after the reload');
is(api('GET', '/sessions', undef, key => 'old-key')->{status}, 401,
   'the removed key no longer does');

ok(error_log_clean(), 'no [error] in the error log');

done_testing();
