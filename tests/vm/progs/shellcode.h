/* x86-64 code, position independent, that writes "PWNED\n" to stdout and ends the process:
 * the bytes an attacker gets executed. Nothing vouches for them. */
#ifndef PROVGATE_SHELLCODE_H
#define PROVGATE_SHELLCODE_H
static const unsigned char shellcode[] = {
    0x48, 0x8d, 0x35, 0x1a, 0x00, 0x00, 0x00, /* lea rsi, [rip + msg]  */
    0xbf, 0x01, 0x00, 0x00, 0x00,             /* mov edi, 1            */
    0xba, 0x06, 0x00, 0x00, 0x00,             /* mov edx, 6            */
    0xb8, 0x01, 0x00, 0x00, 0x00,             /* mov eax, SYS_write    */
    0x0f, 0x05,                               /* syscall               */
    0x31, 0xff,                               /* xor edi, edi          */
    0xb8, 0xe7, 0x00, 0x00, 0x00,             /* mov eax, SYS_exit_group */
    0x0f, 0x05,                               /* syscall               */
    'P', 'W', 'N', 'E', 'D', '\n',            /* msg                   */
};
#endif
