package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CompilerCpuTest {

    @Test
    void readsUserAndSystemTimeOfCompilerThreadsOnly() {
        String c2 = "4711 (C2 CompilerThre) S 1 1 0 0 -1 1077936192 0 0 0 0 250 17 0 0 20 0 1 0 5419990 0";
        String c1 = "4712 (C1 CompilerThre) S 1 1 0 0 -1 1077936192 0 0 0 0 40 2 0 0 20 0 1 0 5419990 0";
        String worker = "4713 (kafka (producer)) R 1 1 0 0 -1 4194304 146 0 0 0 900 100 0 0 20 0 1 0 5419990 0";
        assertEquals(267, CompilerCpu.compilerTicks(c2));
        assertEquals(42, CompilerCpu.compilerTicks(c1));
        assertEquals(0, CompilerCpu.compilerTicks(worker));
    }

    @Test
    void thisJvmHasCompiledSomething() {
        double ms = CompilerCpu.ms(ProcessHandle.current().pid());
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(ms > 0, "a JVM that ran JUnit has used some compiler CPU: " + ms);
        } else {
            assertEquals(-1, ms);
        }
    }

    @Test
    void unknownProcessIsMinusOne() {
        assertEquals(-1, CompilerCpu.ms(Long.MAX_VALUE));
        assertEquals(0, CompilerCpu.processMs(Long.MAX_VALUE));
    }

    @Test
    void theCompilersArePartOfTheProcess() {
        long self = ProcessHandle.current().pid();
        double compilers = CompilerCpu.ms(self);
        double process = CompilerCpu.processMs(self);
        assertTrue(process > 0, "this JVM has used CPU: " + process);
        assertTrue(compilers <= process + 20, compilers + " ms of compiler CPU within " + process + " ms");
    }
}
