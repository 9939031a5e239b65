/*
 * Context switch for x86-64 (System V ABI): saves the callee-saved registers
 * on the current stack, stores the stack pointer in *from, loads `to` and
 * restores that stack's registers. No system call, no signal mask: a switch
 * costs a handful of nanoseconds.
 *
 *   void sim__ctx_switch(void **from, void *to);
 *
 * A new stack is prepared by sim__ctx_make (ctx.c) so that its first switch
 * "returns" into sim__ctx_trampoline, which calls sim__ctx_entry().
 */
#if defined(__x86_64__)
        .text
        .globl  sim__ctx_switch
        .type   sim__ctx_switch, @function
sim__ctx_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   sim__ctx_switch, .-sim__ctx_switch

        .globl  sim__ctx_trampoline
        .type   sim__ctx_trampoline, @function
sim__ctx_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        xorl    %ebp, %ebp
        call    sim__ctx_entry
        ud2
        .cfi_endproc
        .size   sim__ctx_trampoline, .-sim__ctx_trampoline
#endif
        .section .note.GNU-stack,"",@progbits
