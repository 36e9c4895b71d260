# Run last: whatever the tests before left behind in the shared test
# instance, after its cleanup loop had a chance, is a leak.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Leaks qw(leak_check);

leak_check(instance => $ENV{SBX_INSTANCE}, prefix => 'sbx:',
           name => 'after the suite');

done_testing();
