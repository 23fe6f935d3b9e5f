import { describe, expect, it } from 'vitest';
import { splitCommandWords } from '../../../gateway/ssh/command-words.ts';

describe('splitCommandWords', () => {
  it('refuses Unicode spaces, which the splitter would treat as word breaks and a shell does not', () => {
    for (const command of ['ls\u00a0/etc', 'ls\u2028/etc', 'deploy.sh\u3000prod', 'ls\ufeff-l', "echo 'a\u00a0b'"]) {
      expect(splitCommandWords(command), JSON.stringify(command)).toBeNull();
    }
  });

  it('splits a plain command into the words a shell would pass', () => {
    expect(splitCommandWords('systemctl restart app')).toEqual(['systemctl', 'restart', 'app']);
  });

  it('removes quotes and escapes the way a shell does', () => {
    expect(splitCommandWords(`echo 'a b' "c d" e\\ f --opt=val 'it''s'`)).toEqual([
      'echo',
      'a b',
      'c d',
      'e f',
      '--opt=val',
      'its',
    ]);
  });

  it('keeps shell syntax inside single quotes as literal text', () => {
    expect(splitCommandWords(`sh -c 'rm -rf /tmp/x; echo $HOME'`)).toEqual(['sh', '-c', 'rm -rf /tmp/x; echo $HOME']);
  });

  it.each([
    ['a command list', 'ls; rm -rf /'],
    ['a pipeline', 'cat f | sh'],
    ['an and-list', 'true && rm x'],
    ['a redirection', 'echo x > /etc/passwd'],
    ['a command substitution', 'echo $(id)'],
    ['backticks', 'echo `id`'],
    ['a variable', 'rm -rf $DIR'],
    ['a variable in double quotes', 'rm -rf "$DIR"'],
    ['a glob', 'rm *.log'],
    ['brace expansion', 'cp a{,.bak}'],
    ['a tilde', 'rm ~/x'],
    ['a comment', 'ls # rm -rf /'],
    ['a newline', 'ls\nrm -rf /'],
    ['a leading assignment', 'LD_PRELOAD=x.so ls'],
    ['an unterminated quote', "echo 'oops"],
    ['a control character', 'ls\u0000rm'],
    ['a backslash-newline continuation', 'ls \\\nrm'],
    ['nothing at all', '   '],
  ])('gives up (null) on %s', (_name, command) => {
    expect(splitCommandWords(command)).toBeNull();
  });
});
